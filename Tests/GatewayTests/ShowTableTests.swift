import GatewayShow
import Testing

/// Golden tests for the show tables. The expected text is the documentation of the layout:
/// `show crypto ikev2 sa` follows IOS 15, `show crypto ipsec sa` the seed's Example 6-2.
@Suite struct ShowTableTests {
    static let snapshot = GatewaySnapshot(
        virtualIP: "203.0.113.100", uptimeSeconds: 120,
        ikeSAs: [
            IKESARow(tunnelID: 2, localAddress: "203.0.113.100", localPort: 4500, remoteAddress: "192.0.2.1", remotePort: 4500,
                     encryption: "AES-CBC", keySize: 128, prf: "SHA256", hash: "SHA256", dhGroup: 31,
                     localSPI: "C5755691AC9AD0F8", remoteSPI: "4F405ECAEDBCD6B0", localID: "203.0.113.100",
                     remoteID: "client1.example", activeSeconds: 42, natDetected: true, assignedAddress: nil, childSACount: 1),
            IKESARow(tunnelID: 1, localAddress: "203.0.113.100", localPort: 500, remoteAddress: "192.0.2.130", remotePort: 500,
                     encryption: "AES-GCM", keySize: 256, prf: "SHA256", hash: "None", dhGroup: 19,
                     localSPI: "A5A9C55EF66942A5", remoteSPI: "5CA2D3921E2FA361", localID: "203.0.113.100",
                     remoteID: "192.0.2.130", activeSeconds: 3117, natDetected: false, assignedAddress: "198.51.100.200",
                     childSACount: 1),
        ],
        ipsecSAs: [
            IPsecSARow(tunnelID: 1, localAddress: "203.0.113.100", remoteAddress: "192.0.2.130", remoteUDPPort: nil,
                       localSelector: SelectorRow(address: "203.0.113.1", mask: "255.255.255.255", ipProtocol: 0, port: 0),
                       remoteSelector: SelectorRow(address: "192.0.2.130", mask: "255.255.255.255", ipProtocol: 0, port: 0),
                       inboundSPI: 0x4DC4EC6, outboundSPI: 0x8711A91, transform: "esp-gcm 256", ivSize: 8,
                       packetsEncrypted: 4, packetsDecrypted: 5, bytesEncrypted: 336, bytesDecrypted: 420,
                       receiveErrors: 1, sendErrors: 0, echoRepliesSent: 4, innerOtherPackets: 1,
                       remainingSeconds: 3117, remainingKilobytes: 4607999),
            IPsecSARow(tunnelID: 2, localAddress: "203.0.113.100", remoteAddress: "192.0.2.1", remoteUDPPort: 4500,
                       localSelector: SelectorRow(address: "203.0.113.1", mask: "255.255.255.255", ipProtocol: 0, port: 0),
                       remoteSelector: SelectorRow(address: "192.0.2.1", mask: "255.255.255.255", ipProtocol: 0, port: 0),
                       inboundSPI: 0xE141110F, outboundSPI: 0x12AE19F4, transform: "esp-aes 128 esp-sha256-hmac", ivSize: 16,
                       packetsEncrypted: 3, packetsDecrypted: 3, bytesEncrypted: 252, bytesDecrypted: 252,
                       receiveErrors: 0, sendErrors: 2, echoRepliesSent: 3, innerOtherPackets: 0,
                       remainingSeconds: nil, remainingKilobytes: nil),
        ],
        drops: [DropCounter(name: "natt.invalid", count: 1)])

    static let ikev2Golden = """
         IPv4 Crypto IKEv2  SA \("")

        Tunnel-id Local                 Remote                fvrf/ivrf            Status \("")
        1         203.0.113.100/500     192.0.2.130/500       none/none            READY  \("")
              Encr: AES-GCM, keysize: 256, PRF: SHA256, Hash: None, DH Grp:19, Auth sign: PSK, Auth verify: PSK
              Life/Active Time: none/3117 sec

        2         203.0.113.100/4500    192.0.2.1/4500        none/none            READY  \("")
              Encr: AES-CBC, keysize: 128, PRF: SHA256, Hash: SHA256, DH Grp:31, Auth sign: PSK, Auth verify: PSK
              Life/Active Time: none/42 sec

         IPv6 Crypto IKEv2  SA \("")


        """

    static let ikev2DetailGolden = """
         IPv4 Crypto IKEv2  SA \("")

        Tunnel-id Local                 Remote                fvrf/ivrf            Status \("")
        1         203.0.113.100/500     192.0.2.130/500       none/none            READY  \("")
              Encr: AES-GCM, keysize: 256, PRF: SHA256, Hash: None, DH Grp:19, Auth sign: PSK, Auth verify: PSK
              Life/Active Time: none/3117 sec
              Status Description: Negotiation done
              Local spi: A5A9C55EF66942A5       Remote spi: 5CA2D3921E2FA361
              Local id: 203.0.113.100
              Remote id: 192.0.2.130
              Assigned host addr: 198.51.100.200
              Child SAs: 1
              NAT-T is not detected  \("")
              Initiator of SA : No

        2         203.0.113.100/4500    192.0.2.1/4500        none/none            READY  \("")
              Encr: AES-CBC, keysize: 128, PRF: SHA256, Hash: SHA256, DH Grp:31, Auth sign: PSK, Auth verify: PSK
              Life/Active Time: none/42 sec
              Status Description: Negotiation done
              Local spi: C5755691AC9AD0F8       Remote spi: 4F405ECAEDBCD6B0
              Local id: 203.0.113.100
              Remote id: client1.example
              Child SAs: 1
              NAT-T is detected outside
              Initiator of SA : No

         IPv6 Crypto IKEv2  SA \("")


        """

    static let ipsecGolden = """

        interface: gateway
            Crypto map tag: slb, local addr. 203.0.113.100

           local  ident (addr/mask/prot/port): (203.0.113.1/255.255.255.255/0/0)
           remote ident (addr/mask/prot/port): (192.0.2.130/255.255.255.255/0/0)
           current_peer: 192.0.2.130
             PERMIT, flags={}
            #pkts encaps: 4, #pkts encrypt: 4, #pkts digest 4
            #pkts decaps: 5, #pkts decrypt: 5, #pkts verify 5
            #pkts compressed: 0, #pkts decompressed: 0
            #pkts not compressed: 0, #pkts compr. failed: 0, #pkts decompress failed: 0
            #send errors 0, #recv errors 1
            #inner echo replies 4, #inner other 1

             local crypto endpt.: 203.0.113.100, remote crypto endpt.: 192.0.2.130
             path mtu 1500, media mtu 1500
             current outbound spi: 8711A91

             inbound esp sas:
              spi: 0x4DC4EC6(81546950)
                transform: esp-gcm 256 ,
                in use settings ={Tunnel, }
                conn id: 1, flow_id: 1, crypto map: slb
                sa timing: remaining key lifetime (k/sec): (4607999/3117)
                IV size: 8 bytes
                replay detection support: Y

             inbound ah sas:

             inbound pcp sas:
             outbound esp sas:
              spi: 0x8711A91(141630097)
                transform: esp-gcm 256 ,
                in use settings ={Tunnel, }
                conn id: 1, flow_id: 2, crypto map: slb
                sa timing: remaining key lifetime (k/sec): (4607999/3117)
                IV size: 8 bytes
                replay detection support: Y

             outbound ah sas:

             outbound pcp sas:

        interface: gateway
            Crypto map tag: slb, local addr. 203.0.113.100

           local  ident (addr/mask/prot/port): (203.0.113.1/255.255.255.255/0/0)
           remote ident (addr/mask/prot/port): (192.0.2.1/255.255.255.255/0/0)
           current_peer: 192.0.2.1 port 4500
             PERMIT, flags={}
            #pkts encaps: 3, #pkts encrypt: 3, #pkts digest 3
            #pkts decaps: 3, #pkts decrypt: 3, #pkts verify 3
            #pkts compressed: 0, #pkts decompressed: 0
            #pkts not compressed: 0, #pkts compr. failed: 0, #pkts decompress failed: 0
            #send errors 2, #recv errors 0
            #inner echo replies 3, #inner other 0

             local crypto endpt.: 203.0.113.100, remote crypto endpt.: 192.0.2.1
             path mtu 1500, media mtu 1500
             current outbound spi: 12AE19F4

             inbound esp sas:
              spi: 0xE141110F(3779137807)
                transform: esp-aes 128 esp-sha256-hmac ,
                in use settings ={Tunnel UDP-Encaps, }
                conn id: 2, flow_id: 3, crypto map: slb
                sa timing: remaining key lifetime (k/sec): (unlimited/unlimited)
                IV size: 16 bytes
                replay detection support: Y

             inbound ah sas:

             inbound pcp sas:
             outbound esp sas:
              spi: 0x12AE19F4(313399796)
                transform: esp-aes 128 esp-sha256-hmac ,
                in use settings ={Tunnel UDP-Encaps, }
                conn id: 2, flow_id: 4, crypto map: slb
                sa timing: remaining key lifetime (k/sec): (unlimited/unlimited)
                IV size: 16 bytes
                replay detection support: Y

             outbound ah sas:

             outbound pcp sas:

        """

    @Test func ikev2SummaryMatchesGolden() {
        #expect(IKEv2SATable.render(Self.snapshot) == Self.ikev2Golden)
    }

    @Test func ikev2DetailMatchesGolden() {
        #expect(IKEv2SATable.render(Self.snapshot, detail: true) == Self.ikev2DetailGolden)
    }

    @Test func ipsecMatchesGolden() {
        #expect(IPsecSATable.render(Self.snapshot) == Self.ipsecGolden)
    }

    @Test func emptyGatewayPrintsHeadersOnly() {
        let empty = GatewaySnapshot(virtualIP: "203.0.113.100", uptimeSeconds: 0, ikeSAs: [], ipsecSAs: [], drops: [])
        #expect(IKEv2SATable.render(empty) == " IPv4 Crypto IKEv2  SA \n\nTunnel-id Local                 Remote                fvrf/ivrf            Status \n IPv6 Crypto IKEv2  SA \n\n")
        #expect(IPsecSATable.render(empty) == "")
    }

    /// The seed's SPI notation: upper-case hex without leading zeros, then the decimal value.
    @Test(arguments: [(UInt32(0x4DC4EC6), "4DC4EC6"), (0x8711A91, "8711A91"), (0x100, "100"), (0xFFFFFFFF, "FFFFFFFF")])
    func spiNotation(spi: UInt32, hex: String) {
        #expect(IPsecSATable.hex(spi) == hex)
    }
}
