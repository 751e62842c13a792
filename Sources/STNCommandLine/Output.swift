internal import CFormat

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

/// A write to standard output that failed or was cut short (a full disk, a closed pipe with
/// SIGPIPE ignored, /dev/full): one line, "stdout: No space left on device".
public struct OutputWriteError: Error, CustomStringConvertible, Sendable {
    /// The errno of the failed write.
    public let code: Int32
    public init(code: Int32) { self.code = code }
    public var description: String { "stdout: \(String(cString: strerror(code)))" }
}

/// Writes `text` to standard output as is (no newline added). Throws if the write fails
/// (the C library reports a failed flush of its buffer as a failed write).
public func writeStandardOutput(_ text: String) throws {
    errno = 0
    guard fputs(text, standardOutput) != EOF else { throw OutputWriteError(code: failedCode()) }
}

/// Writes `text` and a newline to standard output.
public func writeStandardOutputLine(_ text: String) throws {
    try writeStandardOutput(text + "\n")
}

/// Sends buffered standard output on (progress lines, answers a reader waits for); throws
/// if it does not all arrive.
public func flushStandardOutput() throws {
    errno = 0
    guard fflush(standardOutput) == 0, ferror(standardOutput) == 0 else { throw OutputWriteError(code: failedCode()) }
}

/// The errno of the write that just failed (EIO when the C library did not set one).
private func failedCode() -> Int32 {
    let code = errno
    return code != 0 ? code : EIO
}

/// Writes `text` to standard error as is (no newline added).
public func writeStandardError(_ text: String) {
    fputs(text, standardError)
    fflush(standardError)
}

/// printf-style formatting (`%d`, `%.3f`, `%5d`, `%%`, ...), one conversion at a time
/// through the C library's snprintf. Integers (any width) and floating-point values take a
/// direct path; anything else goes through vsnprintf.
public func formatted(_ format: String, _ arguments: CVarArg...) -> String {
    let bytes = Array(format.utf8)
    var result = ""
    var literalStart = 0
    var index = 0
    var argument = 0
    func appendLiteral(upTo end: Int) {
        if literalStart < end { result += String(decoding: bytes[literalStart ..< end], as: UTF8.self) }
        literalStart = end
    }
    while index < bytes.count {
        guard bytes[index] == UInt8(ascii: "%") else {
            index += 1
            continue
        }
        appendLiteral(upTo: index)
        var end = index + 1
        while end < bytes.count, !Conversion.all.contains(bytes[end]) { end += 1 }
        guard end < bytes.count else { break }  // a trailing '%...' without a conversion stays as is
        if bytes[end] == UInt8(ascii: "%") {
            result += "%"
        } else {
            // Flags, width and precision as written; length modifiers are the argument's business.
            let flags = bytes[(index + 1) ..< end].filter { !Conversion.lengthModifiers.contains($0) }
            let value: CVarArg? = argument < arguments.count ? arguments[argument] : nil
            argument += 1
            result += convert(value, flags: String(decoding: flags, as: UTF8.self), conversion: bytes[end])
        }
        index = end + 1
        literalStart = index
    }
    appendLiteral(upTo: bytes.count)
    return result
}

/// Byte classes of a printf conversion (plain scans: a Set would cost its own first-use
/// set-up in a process that prints one line).
private enum Conversion {
    static let all = Array("diouxXeEfFgGaAcspn%".utf8)
    static let lengthModifiers = Array("hlLqjzt".utf8)
    static let floating = Array("eEfFgGaA".utf8)
    static let integer = Array("diouxX".utf8)
}

/// One conversion of one argument.
private func convert(_ value: CVarArg?, flags: String, conversion: UInt8) -> String {
    let letter = String(UnicodeScalar(conversion))
    var buffer = [CChar](repeating: 0, count: 128)
    func written(_ count: Int32, again: (inout [CChar]) -> Void) -> String {
        if Int(count) >= buffer.count {
            buffer = [CChar](repeating: 0, count: Int(count) + 1)
            again(&buffer)
        }
        return string(from: buffer)
    }
    if Conversion.floating.contains(conversion), let double = floatingValue(value) {
        let format = "%" + flags + letter
        let count = stn_format_double(&buffer, buffer.count, format, double)
        return written(count) { _ = stn_format_double(&$0, $0.count, format, double) }
    }
    if Conversion.integer.contains(conversion), let integer = integerValue(value) {
        let format = "%" + flags + "ll" + letter
        let count = stn_format_integer(&buffer, buffer.count, format, integer)
        return written(count) { _ = stn_format_integer(&$0, $0.count, format, integer) }
    }
    let format = "%" + flags + letter
    let arguments: [CVarArg] = value.map { [$0] } ?? []
    let count = withVaList(arguments) { vsnprintf(&buffer, buffer.count, format, $0) }
    return written(count) { text in _ = withVaList(arguments) { vsnprintf(&text, text.count, format, $0) } }
}

private func floatingValue(_ value: CVarArg?) -> Double? {
    switch value {
    case let v as Double: return v
    case let v as Float: return Double(v)
    default: return nil
    }
}

private func integerValue(_ value: CVarArg?) -> Int64? {
    switch value {
    case let v as Int: return Int64(v)
    case let v as Int32: return Int64(v)
    case let v as Int64: return v
    case let v as UInt8: return Int64(v)
    case let v as UInt16: return Int64(v)
    case let v as UInt32: return Int64(v)
    case let v as Int16: return Int64(v)
    case let v as Int8: return Int64(v)
    case let v as UInt: return Int64(bitPattern: UInt64(v))
    case let v as UInt64: return Int64(bitPattern: v)
    default: return nil
    }
}

/// The text of a NUL-terminated C buffer.
private func string(from buffer: [CChar]) -> String {
    let length = buffer.firstIndex(of: 0) ?? buffer.count
    return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
