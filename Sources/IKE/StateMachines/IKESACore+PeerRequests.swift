import IPsecCrypto
import SLBWire

/// Requests the peer sends on an established IKE SA: INFORMATIONAL (§1.4) and
/// CREATE_CHILD_SA (§1.3), answered the same way whichever end is the original initiator.
extension IKESACore {
    // MARK: INFORMATIONAL (§1.4)

    mutating func handleInformational(_ payloads: [Payload], context: CoreContext) -> ([Payload], Outcome) {
        var out = Outcome()
        var response: [Payload] = []
        var deletedInbound: [UInt32] = []
        if payloads.notify(.authenticationFailed) != nil {
            // §2.21.2: the peer did not accept our authentication; the IKE SA is dead.
            for c in children { out.actions.append(.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, ike: id)) }
            children = []
            out.actions.append(.deleteIKESA(id))
            out.closed = true
            return ([], out)
        }
        for d in payloads.deletes {
            switch d.protocolID {
            case .ike:
                // §1.4.1: answer empty, then the IKE SA and its Child SAs are gone.
                for c in children { out.actions.append(.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, ike: id)) }
                children = []
                out.actions.append(.deleteIKESA(id))
                out.closed = true
                return ([], out)
            case .esp, .ah:
                for spiBytes in d.spis {
                    guard let spi = UInt32(bigEndianBytes: spiBytes),
                          let i = children.firstIndex(where: { $0.outboundSPI == spi }) else { continue }
                    let c = children.remove(at: i)
                    out.actions.append(.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, ike: id))
                    // §1.4.1: unless we are deleting it ourselves, answer with our half.
                    if case .deleteChildSAs(let ours)? = pending?.request, ours.contains(c.inboundSPI) { continue }
                    deletedInbound.append(c.inboundSPI)
                }
            default:
                continue
            }
        }
        if !deletedInbound.isEmpty { response.append(.delete(.esp(deletedInbound))) }
        return (response, out)
    }

    // MARK: CREATE_CHILD_SA as responder (§1.3)

    mutating func handleCreateChildSA(_ payloads: [Payload], now: MonotonicTime, context: CoreContext) -> ([Payload], Outcome) {
        var out = Outcome()
        guard let sa = payloads.securityAssociation, let ni = payloads.nonce?.data else {
            return ([.notify(NotifyPayload(.invalidSyntax))], out)
        }
        let ke = payloads.keyExchange
        let crypto = context.crypto
        if sa.proposals.first?.protocolID == .ike {
            // §1.3.2: rekey of this IKE SA.
            guard let ke else { return ([.notify(NotifyPayload(.invalidSyntax))], out) }
            switch ProposalSelection.select(sa, protocolID: .ike, policy: context.ikePolicy, dh: .mustMatchKE(ke.group)) {
            case .noProposalChosen:
                return ([.notify(NotifyPayload(.noProposalChosen))], out)
            case .invalidKE(let g):
                return ([.notify(NotifyPayload(.invalidKEPayload, data: [UInt8(g.rawValue >> 8), UInt8(g.rawValue & 0xFF)]))], out)
            case .chosen(var proposal, let match):
                guard let newSuite = match.ikeSuite, let offered = sa.proposals.first(where: { $0.number == proposal.number }),
                      offered.spi.count == 8, let peerSPI = UInt64(exactly: offered.spi.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }),
                      peerSPI != 0
                else { return ([.notify(NotifyPayload(.invalidSyntax))], out) }
                guard let dh = try? crypto.makeKeyExchange(group: newSuite.dhGroup),
                      ke.data.count == newSuite.dhGroup.publicValueLength,
                      let shared = try? dh.sharedSecret(peerPublicValue: ke.data)
                else { return ([.notify(NotifyPayload(.invalidSyntax))], out) }
                let nr = crypto.randomBytes(count: Self.nonceLength)
                let ourSPI = Self.randomSPI64(crypto)
                proposal.spi = ourSPI.bigEndianBytes
                let seed = KeyDerivation.rekeySkeyseed(crypto, oldPRF: suite.prf, oldSKd: keys.skD, sharedSecret: shared, ni: ni, nr: nr)
                let newID = IKESAIdentifier(spiI: peerSPI, spiR: ourSPI)
                guard let newKeys = try? KeyDerivation.ikeKeys(crypto, suite: newSuite, skeyseed: seed, ni: ni, nr: nr,
                                                               spiI: newID.spiI, spiR: newID.spiR)
                else { return ([.notify(NotifyPayload(.noProposalChosen))], out) }
                // §2.18: the rekey's initiator is the new SA's original initiator.
                var new = IKESACore(weAreOriginalInitiator: false, id: newID, suite: newSuite, keys: newKeys,
                                    local: local, peer: peer, udpEncapsulation: udpEncapsulation,
                                    peerIdentity: peerIdentity, virtualAddress: virtualAddress,
                                    expectedPeerRequest: 0, nextOwnRequest: 0, lastHeard: now)
                new.children = children
                children = []
                out.rekeyed = new
                out.actions.append(.rekeyedIKESA(old: id, new: new.info))
                return ([.securityAssociation(SecurityAssociationPayload(proposals: [proposal])), .nonce(NoncePayload(data: nr)),
                         .keyExchange(KeyExchangePayload(group: newSuite.dhGroup.rawValue, data: dh.publicValue))], out)
            }
        }
        // New or rekeyed Child SA (§1.3.1, §1.3.3).
        var rekeyed: ChildSA?
        if let n = payloads.notify(.rekeySA) {
            guard let spi = UInt32(bigEndianBytes: n.spi), let old = children.first(where: { $0.outboundSPI == spi }) else {
                return ([.notify(NotifyPayload(.childSANotFound, protocolID: .esp, spi: n.spi))], out)
            }
            rekeyed = old
        }
        let offeredTSi = payloads.trafficSelectorInitiator?.selectors ?? []
        let offeredTSr = payloads.trafficSelectorResponder?.selectors ?? []
        let (tsi, tsr) = narrowForPeerRequest(offeredTSi: offeredTSi, offeredTSr: offeredTSr, rekeyed: rekeyed, context: context)
        guard !tsi.isEmpty, !tsr.isEmpty else { return ([.notify(NotifyPayload(.tsUnacceptable))], out) }
        switch ProposalSelection.select(sa, protocolID: .esp, policy: context.child.esp, dh: .pfs(ke?.group)) {
        case .noProposalChosen:
            return ([.notify(NotifyPayload(.noProposalChosen))], out)
        case .invalidKE(let g):
            return ([.notify(NotifyPayload(.invalidKEPayload, data: [UInt8(g.rawValue >> 8), UInt8(g.rawValue & 0xFF)]))], out)
        case .chosen(var proposal, let match):
            guard let offered = sa.proposals.first(where: { $0.number == proposal.number }),
                  let peerSPI = UInt32(bigEndianBytes: offered.spi), peerSPI != 0
            else { return ([.notify(NotifyPayload(.invalidSyntax))], out) }
            let suiteESP = match.espSuite
            var shared: [UInt8]?
            var kePayload: [Payload] = []
            if let group = suiteESP.dhGroup, let ke {
                guard let dh = try? crypto.makeKeyExchange(group: group), ke.data.count == group.publicValueLength,
                      let s = try? dh.sharedSecret(peerPublicValue: ke.data)
                else { return ([.notify(NotifyPayload(.invalidSyntax))], out) }
                shared = s
                kePayload = [.keyExchange(KeyExchangePayload(group: group.rawValue, data: dh.publicValue))]
            }
            let nr = crypto.randomBytes(count: Self.nonceLength)
            let spi = Self.randomSPI32(crypto, avoiding: context.usedSPIs)
            proposal.spi = spi.bigEndianBytes
            guard let k = try? KeyDerivation.childKeys(crypto, prf: suite.prf, skD: keys.skD, sharedSecret: shared,
                                                       ni: ni, nr: nr, suite: suiteESP)
            else { return ([.notify(NotifyPayload(.noProposalChosen))], out) }
            // The peer initiated this exchange: i→r keys protect what it sends to us.
            let child = ChildSA(inboundSPI: spi, outboundSPI: peerSPI, suite: suiteESP, inboundKeys: k.initiatorToResponder,
                                outboundKeys: k.responderToInitiator, localSelectors: tsr, remoteSelectors: tsi,
                                udpEncapsulation: udpEncapsulation)
            children.append(child)
            out.newSPIs.append(spi)
            out.actions.append(.installChildSA(child, ike: id))
            // The old Child SA stays until the peer deletes it (§2.8).
            return ([.securityAssociation(SecurityAssociationPayload(proposals: [proposal])), .nonce(NoncePayload(data: nr))]
                    + kePayload + [.trafficSelectorInitiator(TrafficSelectorPayload(selectors: tsi)),
                                   .trafficSelectorResponder(TrafficSelectorPayload(selectors: tsr))], out)
        }
    }

    /// TS for a Child SA the peer asks for. From the peer's point of view TSi is its side.
    /// A rekey keeps the old SA's selectors (§2.8: same selectors), narrowed by the offer.
    private func narrowForPeerRequest(offeredTSi: [TrafficSelector], offeredTSr: [TrafficSelector], rekeyed: ChildSA?,
                                      context: CoreContext) -> ([TrafficSelector], [TrafficSelector]) {
        // When we are the original initiator, the peer (gateway) is "i" for this exchange only.
        let peerAllowed: [TrafficSelector]
        let localAllowed: [TrafficSelector]
        if let old = rekeyed {
            peerAllowed = old.remoteSelectors
            localAllowed = old.localSelectors
        } else if let v = virtualAddress, !weAreOriginalInitiator {
            peerAllowed = [.host(v)]
            localAllowed = context.child.localSelectors
        } else {
            peerAllowed = context.child.remoteSelectors
            localAllowed = context.child.localSelectors
        }
        return (TrafficSelectorNarrowing.narrow(offered: offeredTSi, allowed: peerAllowed),
                TrafficSelectorNarrowing.narrow(offered: offeredTSr, allowed: localAllowed))
    }
}
