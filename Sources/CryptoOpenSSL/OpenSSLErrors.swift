import COpenSSL
import IPsecCrypto

// OpenSSL reports failures through a per-thread error queue. Every failing call site drains it
// into the CryptoError detail (so logs name the real cause) and leaves the queue empty for the
// next packet; a queue left full would attach stale causes to later, unrelated failures.

/// Drains the calling thread's OpenSSL error queue into one line of text.
func drainOpenSSLErrors() -> String {
    var messages: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        if messages.count < maximumReportedErrors {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            messages.append(String(decoding: bytes, as: UTF8.self))
        }
    }
    return messages.joined(separator: "; ")
}

/// Enough causes to diagnose a failure; the rest of the queue is still drained.
private let maximumReportedErrors = 4

/// A `.backendFailure` naming the OpenSSL call that failed and the drained error queue.
func backendFailure(_ call: String) -> CryptoError {
    let queue = drainOpenSSLErrors()
    return CryptoError(.backendFailure, queue.isEmpty ? call : "\(call): \(queue)")
}

/// Throws `backendFailure(call)` unless an OpenSSL call returned 1, its only success value
/// (0 is failure, -2 "not supported", other negatives errors).
func check(_ result: Int32, _ call: String) throws(CryptoError) {
    guard result == 1 else { throw backendFailure(call) }
}

/// `OPENSSL_free` is a function-like macro Swift cannot import; it expands to this call.
func openSSLFree(_ pointer: UnsafeMutableRawPointer?, file: StaticString = #fileID, line: UInt = #line) {
    CRYPTO_free(pointer, UnsafeRawPointer(file.utf8Start).assumingMemoryBound(to: CChar.self), Int32(line))
}
