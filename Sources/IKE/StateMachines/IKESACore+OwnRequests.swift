import IPsecCrypto
import SLBWire

/// Requests this end starts on an established IKE SA, and the handling of their answers.
extension IKESACore {
    // MARK: our own requests

    mutating func startLiveness(now: MonotonicTime, context: CoreContext) -> [IKEAction] {
        request(.informational, [], as: .liveness, now: now, context: context)
    }

    /// An INFORMATIONAL request with arbitrary payloads (notifies, or a probe); answered like liveness.
    mutating func startInformational(_ payloads: [Payload], now: MonotonicTime, context: CoreContext) -> [IKEAction] {
        request(.informational, payloads, as: .liveness, now: now, context: context)
    }

    mutating func startDeleteIKESA(now: MonotonicTime, context: CoreContext) -> [IKEAction] {
        request(.informational, [.delete(.ikeSA)], as: .deleteIKESA, now: now, context: context)
    }

    mutating func startDeleteChildSAs(_ inbound: [UInt32], now: MonotonicTime, context: CoreContext) -> [IKEAction] {
        request(.informational, [.delete(.esp(inbound))], as: .deleteChildSAs(inbound), now: now, context: context)
    }

    /// CREATE_CHILD_SA for a new or rekeyed Child SA (§1.3.1, §1.3.3); `pfs` adds a KE.
    mutating func startCreateChildSA(rekeying: UInt32?, pfs: DHGroup?, tsi: [TrafficSelector], tsr: [TrafficSelector],
                                     now: MonotonicTime, context: CoreContext, retry: Bool = false) -> ([IKEAction], UInt32?) {
        let crypto = context.crypto
        let spi = Self.randomSPI32(crypto, avoiding: context.usedSPIs)
        let nonce = crypto.randomBytes(count: Self.nonceLength)
        var ke: (any KeyExchange)?
        if let pfs { ke = try? crypto.makeKeyExchange(group: pfs); if ke == nil { return ([.failed(.noAcceptableProposal)], nil) } }
        // With PFS, offer the KE's group first and the others after it, so a peer preferring
        // another can answer INVALID_KE_PAYLOAD rather than NO_PROPOSAL_CHOSEN.
        let offer = ProposalSelection.offer(context.child.esp, protocolID: .esp, spi: spi.bigEndianBytes,
                                            dhGroups: pfs.map { g in [g] + context.child.esp.dhGroups.filter { $0 != g } } ?? [])
        var payloads: [Payload] = []
        var selI = tsi, selR = tsr
        if let old = rekeying, let c = children.first(where: { $0.inboundSPI == old }) {
            // §1.3.3: REKEY_SA carries the SPI the exchange initiator expects inbound.
            payloads.append(.notify(NotifyPayload(.rekeySA, protocolID: .esp, spi: c.inboundSPI.bigEndianBytes)))
            selI = c.localSelectors
            selR = c.remoteSelectors
        }
        payloads += [.securityAssociation(offer), .nonce(NoncePayload(data: nonce))]
        if let ke { payloads.append(.keyExchange(KeyExchangePayload(group: ke.group.rawValue, data: ke.publicValue))) }
        payloads += [.trafficSelectorInitiator(TrafficSelectorPayload(selectors: selI)),
                     .trafficSelectorResponder(TrafficSelectorPayload(selectors: selR))]
        let req = CreateChildRequest(rekeying: rekeying, spi: spi, nonce: nonce, keyExchange: ke, offer: offer, tsi: selI, tsr: selR,
                                     retriedAfterInvalidKE: retry)
        return (request(.createChildSA, payloads, as: .createChildSA(req), now: now, context: context), spi)
    }

    /// CREATE_CHILD_SA rekeying this IKE SA (§1.3.2), with the same suite's DH group.
    mutating func startRekeyIKESA(now: MonotonicTime, context: CoreContext) -> [IKEAction] {
        let crypto = context.crypto
        guard let ke = try? crypto.makeKeyExchange(group: suite.dhGroup) else { return [.failed(.noAcceptableProposal)] }
        let spi = Self.randomSPI64(crypto)
        let nonce = crypto.randomBytes(count: Self.nonceLength)
        var policy = context.ikePolicy
        policy.dhGroups = [suite.dhGroup] + policy.dhGroups.filter { $0 != suite.dhGroup }
        let offer = ProposalSelection.offer(policy, protocolID: .ike, spi: spi.bigEndianBytes)
        let payloads: [Payload] = [.securityAssociation(offer), .nonce(NoncePayload(data: nonce)),
                                   .keyExchange(KeyExchangePayload(group: ke.group.rawValue, data: ke.publicValue))]
        return request(.createChildSA, payloads,
                       as: .rekeyIKESA(IKERekeyRequest(spi: spi, nonce: nonce, keyExchange: ke, offer: offer)),
                       now: now, context: context)
    }

    // MARK: responses to our requests

    mutating func handleResponse(_ kind: OwnRequest, _ payloads: [Payload], exchange: ExchangeType,
                                         now: MonotonicTime, context: CoreContext) -> Outcome {
        var out = Outcome()
        let crypto = context.crypto
        switch kind {
        case .liveness:
            if let e = payloads.firstErrorNotify { out.actions.append(.failed(.notified(e.type))) }
            return out
        case .deleteIKESA:
            for c in children { out.actions.append(.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, ike: id)) }
            children = []
            out.actions.append(.deleteIKESA(id))
            out.closed = true
            return out
        case .deleteChildSAs(let inbound):
            for spi in inbound {
                guard let i = children.firstIndex(where: { $0.inboundSPI == spi }) else { continue }
                let c = children.remove(at: i)
                out.actions.append(.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, ike: id))
            }
            return out
        case .createChildSA(let req):
            if let n = payloads.notify(.invalidKEPayload), req.keyExchange != nil, !req.retriedAfterInvalidKE, n.data.count == 2,
               let g = DHGroup(rawValue: UInt16(n.data[0]) << 8 | UInt16(n.data[1])), context.child.esp.dhGroups.contains(g) {
                // §1.3: retry once with the group the peer asked for.
                let (actions, _) = startCreateChildSA(rekeying: req.rekeying, pfs: g, tsi: req.tsi, tsr: req.tsr, now: now,
                                                      context: context, retry: true)
                out.actions += actions
                return out
            }
            if let e = payloads.firstErrorNotify {
                out.actions.append(.failed(.notified(e.type)))
                return out
            }
            guard exchange == .createChildSA, let sa = payloads.securityAssociation, let nr = payloads.nonce?.data,
                  let (proposal, match) = ProposalSelection.checkAnswer(sa, offer: req.offer, policy: context.child.esp,
                                                                         dh: .pfs(payloads.keyExchange?.group)),
                  let peerSPI = UInt32(bigEndianBytes: proposal.spi), peerSPI != 0,
                  let tsi = payloads.trafficSelectorInitiator?.selectors, let tsr = payloads.trafficSelectorResponder?.selectors
            else {
                out.actions.append(.failed(.invalidResponse("CREATE_CHILD_SA answer")))
                return out
            }
            var shared: [UInt8]?
            if let ke = req.keyExchange {
                guard let peerKE = payloads.keyExchange, peerKE.group == ke.group.rawValue,
                      let s = try? ke.sharedSecret(peerPublicValue: peerKE.data)
                else { out.actions.append(.failed(.invalidResponse("PFS KE"))); return out }
                shared = s
            }
            guard let k = try? KeyDerivation.childKeys(crypto, prf: suite.prf, skD: keys.skD, sharedSecret: shared,
                                                       ni: req.nonce, nr: nr, suite: match.espSuite)
            else { return out }
            let child = ChildSA(inboundSPI: req.spi, outboundSPI: peerSPI, suite: match.espSuite,
                                inboundKeys: k.responderToInitiator, outboundKeys: k.initiatorToResponder,
                                localSelectors: tsi, remoteSelectors: tsr, udpEncapsulation: udpEncapsulation)
            let oldStillHere = req.rekeying.map { old in children.contains { $0.inboundSPI == old } } ?? true
            children.append(child)
            out.actions.append(.installChildSA(child, ike: id))
            if let old = req.rekeying {
                // §2.8: the rekey's initiator deletes the old Child SA. If the peer deleted it
                // while our request was in flight (it rekeyed it first, §2.8.1), the pair we
                // just made is the redundant one: delete that instead.
                out.actions += startDeleteChildSAs([oldStillHere ? old : req.spi], now: now, context: context)
            }
            return out
        case .rekeyIKESA(let req):
            if let e = payloads.firstErrorNotify {
                out.actions.append(.failed(.notified(e.type)))
                return out
            }
            guard let sa = payloads.securityAssociation, let nr = payloads.nonce?.data, let peerKE = payloads.keyExchange,
                  let (proposal, match) = ProposalSelection.checkAnswer(sa, offer: req.offer, policy: context.ikePolicy,
                                                                         dh: .mustMatchKE(peerKE.group)),
                  let newSuite = match.ikeSuite, newSuite.dhGroup == req.keyExchange.group, proposal.spi.count == 8,
                  let shared = try? req.keyExchange.sharedSecret(peerPublicValue: peerKE.data)
            else {
                out.actions.append(.failed(.invalidResponse("IKE rekey answer")))
                return out
            }
            let peerSPI = proposal.spi.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let seed = KeyDerivation.rekeySkeyseed(crypto, oldPRF: suite.prf, oldSKd: keys.skD, sharedSecret: shared,
                                                   ni: req.nonce, nr: nr)
            let newID = IKESAIdentifier(spiI: req.spi, spiR: peerSPI)
            guard let newKeys = try? KeyDerivation.ikeKeys(crypto, suite: newSuite, skeyseed: seed, ni: req.nonce, nr: nr,
                                                           spiI: newID.spiI, spiR: newID.spiR)
            else { return out }
            var new = IKESACore(weAreOriginalInitiator: true, id: newID, suite: newSuite, keys: newKeys, local: local,
                                peer: peer, udpEncapsulation: udpEncapsulation, peerIdentity: peerIdentity,
                                virtualAddress: virtualAddress, expectedPeerRequest: 0, nextOwnRequest: 0, lastHeard: now)
            new.children = children
            children = []
            out.actions.append(.rekeyedIKESA(old: id, new: new.info))
            // §2.18: the initiator of the rekey deletes the old IKE SA.
            out.actions += startDeleteIKESA(now: now, context: context)
            out.rekeyed = new
            return out
        }
    }
}
