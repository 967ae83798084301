// Small helpers to hand Swift byte arrays to C. An empty Swift array may have a nil base
// address, which some OpenSSL entry points treat as "no argument" rather than "zero bytes";
// these helpers always pass a valid pointer.

/// One byte that stands in for the base address of an empty input.
nonisolated(unsafe) private let emptyInputByte = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

extension Array where Element == UInt8 {
    /// Calls `body` with a non-nil pointer to the bytes and their count.
    func withNonNilBytes<R, E: Error>(_ body: (UnsafePointer<UInt8>, Int) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = withUnsafeBufferPointer { buffer in
            do throws(E) {
                return .success(try body(buffer.baseAddress ?? UnsafePointer(emptyInputByte), buffer.count))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Builds an array of at most `capacity` bytes that `body` writes through a pointer and
    /// reports the number written.
    static func filled<E: Error>(capacity: Int, _ body: (UnsafeMutablePointer<UInt8>) throws(E) -> Int) throws(E) -> [UInt8] {
        var failure: E?
        let bytes = [UInt8](unsafeUninitializedCapacity: Swift.max(capacity, 1)) { buffer, count in
            guard let base = buffer.baseAddress else { count = 0; return }
            do throws(E) {
                let written = try body(base)
                count = Swift.min(Swift.max(written, 0), capacity)
                // Bytes past `count` are never exposed; initialise the prefix only.
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }
}
