#if canImport(Glibc)
    @preconcurrency import Glibc
#else
    @preconcurrency import Darwin
#endif

// Plain C stdio for the tools' output, so a tool that needs nothing else from Foundation
// does not load it (Foundation with ICU costs several milliseconds per process).
//
// C's `stdout` and `stderr` are mutable globals to Swift. The C library locks each FILE
// internally, so using them from any thread is safe: the references are marked as such.
nonisolated(unsafe) private let standardOutput = stdout
nonisolated(unsafe) private let standardError = stderr

/// Writes `text` to standard output as is (no newline added).
public func writeStandardOutput(_ text: String) {
    fputs(text, standardOutput)
}

/// Sends buffered standard output on (progress lines, answers a reader waits for).
public func flushStandardOutput() {
    fflush(standardOutput)
}

/// Writes `text` to standard error as is (no newline added).
public func writeStandardError(_ text: String) {
    fputs(text, standardError)
    fflush(standardError)
}

/// printf-style formatting (`%d`, `%.3f`, `%5d`, ...) through the C library's vsnprintf.
public func formatted(_ format: String, _ arguments: CVarArg...) -> String {
    withVaList(arguments) { list in
        var buffer = [CChar](repeating: 0, count: 256)
        let needed = Int(vsnprintf(&buffer, buffer.count, format, list))
        guard needed >= buffer.count else { return string(from: buffer) }
        // Longer than the first guess: format again into a buffer that fits.
        buffer = [CChar](repeating: 0, count: needed + 1)
        return withVaList(arguments) {
            _ = vsnprintf(&buffer, buffer.count, format, $0)
            return string(from: buffer)
        }
    }
}

/// The text of a NUL-terminated C buffer.
private func string(from buffer: [CChar]) -> String {
    let length = buffer.firstIndex(of: 0) ?? buffer.count
    return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
