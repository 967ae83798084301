import IPsecCrypto
import SLBWire

/// IKE_AUTH on the gateway: PSK verification both ways, CP address, TS narrowing and the
/// first Child SA; turns a half-open SA into an established one.
extension ResponderSA {
    // MARK: IKE_AUTH (§1.2, §2.15, §2.9, §3.15)

    /// Returns the answer and, when authentication succeeded, the established SA.
    func receiveAuth(_ h: HalfOpenSA, _ datagram: [UInt8], _ message: IKEMessage, from: IKEEndpoint,
                                      now: MonotonicTime, context: CoreContext, configuration: IKEv2ResponderConfiguration,
                                      pool: inout AddressPool?,
                                      staleOwners: (IdentificationPayload, IPv4Address) -> [UInt64]) -> (Result, IKESACore?) {
        let header = message.header
        guard header.exchange == .ikeAuth, !header.isResponse, header.isFromOriginalInitiator else {
            return (Result(actions: [.dropped(.unexpectedMessage)]), nil)
        }
        guard header.messageID == 1 else { return (Result(actions: [.dropped(.outsideWindow)]), nil) }
        guard let sk = message.payloads.encrypted, message.payloads.count == 1 else { return (Result(actions: [.dropped(.malformed)]), nil) }
        let crypto = context.crypto
        // A provisional core does the SK work; it becomes the established SA on success.
        var core = IKESACore(weAreOriginalInitiator: false, id: h.id, suite: h.suite, keys: h.keys, local: h.local, peer: from,
                             udpEncapsulation: h.udpEncapsulation || from.port != 500 && h.peer.port == 500,
                             peerIdentity: IdentificationPayload(type: .ipv4Address, data: []),
                             expectedPeerRequest: 1, nextOwnRequest: 0, lastHeard: now)
        func answer(_ payloads: [Payload]) -> [UInt8]? {
            try? core.seal(.ikeAuth, messageID: 1, response: true, payloads, crypto: crypto)
        }
        let payloads: [Payload]
        do {
            payloads = try SKCodec.open(datagram, sk: sk, cipher: core.inboundCipher, crypto: crypto)
            try MessageRules.check(.ikeAuth, isResponse: false, payloads)
        } catch let e as IKEError {
            guard let type = e.notify, let bytes = answer([.notify(NotifyPayload(type, data: e.payloadType.map { [$0] } ?? []))]) else {
                return (Result(actions: [.dropped(e.code == .integrityCheckFailed ? .integrityCheckFailed : .malformed)]), nil)
            }
            // §2.21.2: an error in IKE_AUTH ends the half-open SA.
            return (Result(actions: [.send(bytes, to: from, from: h.local), .deleteIKESA(h.id)], closed: true), nil)
        } catch {
            return (Result(actions: [.dropped(.malformed)]), nil)
        }
        func fail(_ type: NotifyType) -> Result {
            var actions: [IKEAction] = []
            if let bytes = answer([.notify(NotifyPayload(type))]) { actions.append(.send(bytes, to: from, from: h.local)) }
            actions.append(.deleteIKESA(h.id))
            return Result(actions: actions, closed: true)
        }
        guard let idi = payloads.identificationInitiator, let auth = payloads.authentication,
              let psk = configuration.psk(for: idi),
              PSKAuthentication.verify(auth, crypto, prf: h.suite.prf, psk: psk, realMessage: h.initRequest,
                                       peerNonce: h.nr, skP: h.keys.skPi, identity: idi)
        else { return (fail(.authenticationFailed), nil) }

        core.peerIdentity = idi
        let idr = configuration.ourIdentity
        let ourAuth = PSKAuthentication.authData(crypto, prf: h.suite.prf, psk: psk, realMessage: h.initResponse,
                                                 peerNonce: h.ni, skP: h.keys.skPr, identity: idr)
        var response: [Payload] = [.identificationResponder(idr),
                                   .authentication(AuthenticationPayload(method: AuthenticationPayload.sharedKeyMIC, data: ourAuth))]
        var result = Result()
        // §2.4: the SAs INITIAL_CONTACT makes stale go after this one is up (IKEv2Responder),
        // but their pool leases go now, so a client reconnecting to a full pool gets one.
        result.initialContact = payloads.notify(.initialContact) != nil
        if result.initialContact { for owner in staleOwners(idi, from.address) { pool?.release(owner: owner) } }
        // The Child SA: a failure here still completes the IKE SA (§1.2), with the error notify.
        if let sa = payloads.securityAssociation, let tsiOffer = payloads.trafficSelectorInitiator,
           let tsrOffer = payloads.trafficSelectorResponder {
            var childError: NotifyType?
            var peerAllowed = configuration.child.remoteSelectors
            if let cp = payloads.configuration, cp.type == .request,
               cp.attributes.contains(where: { $0.type == ConfigurationPayload.Attribute.internalIP4Address }) {
                if let address = pool?.allocate(owner: h.id.spiR) {
                    core.virtualAddress = address
                    peerAllowed = [.host(address)]
                    response.append(.configuration(ConfigurationPayload(type: .reply, attributes: [
                        .init(type: ConfigurationPayload.Attribute.internalIP4Address, value: address.value.bigEndianBytes),
                    ])))
                } else {
                    childError = .internalAddressFailure
                }
            }
            let tsi = TrafficSelectorNarrowing.narrow(offered: tsiOffer.selectors, allowed: peerAllowed)
            let tsr = TrafficSelectorNarrowing.narrow(offered: tsrOffer.selectors, allowed: configuration.child.localSelectors)
            if childError == nil, tsi.isEmpty || tsr.isEmpty { childError = .tsUnacceptable }
            if childError == nil {
                switch ProposalSelection.select(sa, protocolID: .esp, policy: configuration.child.esp, dh: .ignore) {
                case .noProposalChosen, .invalidKE:
                    childError = .noProposalChosen
                case .chosen(var proposal, let match):
                    if let offered = sa.proposals.first(where: { $0.number == proposal.number }),
                       let peerSPI = UInt32(bigEndianBytes: offered.spi), peerSPI != 0,
                       let k = try? KeyDerivation.childKeys(crypto, prf: h.suite.prf, skD: h.keys.skD, sharedSecret: nil,
                                                            ni: h.ni, nr: h.nr, suite: match.espSuite) {
                        let spi = IKESACore.randomSPI32(crypto, avoiding: context.usedSPIs)
                        proposal.spi = spi.bigEndianBytes
                        let child = ChildSA(inboundSPI: spi, outboundSPI: peerSPI, suite: match.espSuite,
                                            inboundKeys: k.initiatorToResponder, outboundKeys: k.responderToInitiator,
                                            localSelectors: tsr, remoteSelectors: tsi, udpEncapsulation: core.udpEncapsulation)
                        core.children.append(child)
                        result.newSPIs.append(spi)
                        response += [.securityAssociation(SecurityAssociationPayload(proposals: [proposal])),
                                     .trafficSelectorInitiator(TrafficSelectorPayload(selectors: tsi)),
                                     .trafficSelectorResponder(TrafficSelectorPayload(selectors: tsr))]
                    } else {
                        childError = .invalidSyntax
                    }
                }
            }
            if let e = childError { response.append(.notify(NotifyPayload(e))) }
        }
        guard let bytes = answer(response) else { return (fail(.authenticationFailed), nil) }
        core.lastResponse = (1, bytes)
        core.expectedPeerRequest = 2
        result.actions.append(.send(bytes, to: from, from: h.local))
        result.actions.append(.established(core.info))
        for c in core.children { result.actions.append(.installChildSA(c, ike: core.id)) }
        return (result, core)
    }
}
