import Dataplane
import Foundation
import Testing

/// The SLB's ARP-table read (Dataplane `ProcFile`): a dispatched SLB's /proc/net/arp holds a
/// line per client it forwards replies to, far past one page; a read that stops at the first
/// page lost the reals' MACs (the 200-tunnel farm test dropped 20-120 frames as `no-neighbour`).
struct ProcFileTests {
    @Test func readsAProcFileLargerThanAPageToTheEnd() throws {
        // /proc/crypto: stable between reads, about 11 KB here.
        let whole = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/crypto")).readToEnd() ?? Data()
        try #require(whole.count > 8192, "needs a /proc file of more than two pages")
        let text = try #require(ProcFile.read("/proc/crypto"))
        #expect(text.utf8.count == whole.count)
        #expect(text == String(decoding: whole, as: UTF8.self))
    }

    @Test func missingFileIsNil() {
        #expect(ProcFile.read("/proc/no-such-file") == nil)
    }
}
