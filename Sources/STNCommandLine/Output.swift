#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

// Plain C stdio for the tools' output, so a tool that needs nothing else from Foundation
// does not load it (Foundation with ICU costs several milliseconds per process).

/// Writes `text` to standard output as is (no newline added).
public func writeStandardOutput(_ text: String) {
    fputs(text, stdout)
}

/// Writes `text` to standard error as is (no newline added).
public func writeStandardError(_ text: String) {
    fputs(text, stderr)
    fflush(stderr)
}

/// printf-style formatting (`%d`, `%.3f`, `%5d`, ...) through the C library's vsnprintf.
public func formatted(_ format: String, _ arguments: CVarArg...) -> String {
    withVaList(arguments) { list in
        var buffer = [CChar](repeating: 0, count: 256)
        let needed = Int(vsnprintf(&buffer, buffer.count, format, list))
        guard needed >= buffer.count else { return String(cString: buffer) }
        // Longer than the first guess: format again into a buffer that fits.
        buffer = [CChar](repeating: 0, count: needed + 1)
        return withVaList(arguments) { _ = vsnprintf(&buffer, buffer.count, format, $0); return String(cString: buffer) }
    }
}
