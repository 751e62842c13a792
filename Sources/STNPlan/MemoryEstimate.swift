import STNModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Memory checked before it is allocated: a model whose arena or training state does not fit
/// is refused in one line that gives the estimate, instead of ending in an abort ("failed to
/// allocate") after seconds of work.
public enum MemoryBudget {
    /// The most a tool may use, from its --max-memory option (bytes); nil: what the machine
    /// has available. Set once, before any plan is built.
    nonisolated(unsafe) public static var maximum: Int?

    /// Below this, and without --max-memory, nothing is checked (the check reads /proc).
    static let smallBytes = 64 << 20

    /// The bytes that may still be allocated and what says so: --max-memory, or the
    /// smaller of MemAvailable (/proc/meminfo) and what RLIMIT_AS leaves of the address space.
    public static func available() -> (bytes: Int, source: String)? {
        if let maximum { return (maximum, "--max-memory") }
        var best: (bytes: Int, source: String)?
        if let kilobytes = procField("/proc/meminfo", "MemAvailable:") { best = (kilobytes * 1024, "MemAvailable") }
        #if canImport(Glibc)
            // RLIM_INFINITY is all ones: above Int.max.
            var limit = rlimit()
            if getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur < UInt64(Int.max) {
                let used = (procField("/proc/self/status", "VmSize:") ?? 0) * 1024
                let left = max(0, Int(limit.rlim_cur) - used)
                if best == nil || left < best!.bytes { best = (left, "RLIMIT_AS") }
            }
        #endif
        return best
    }

    /// Throws unless `bytes` fit in what is available; `name` (a file) starts the message.
    public static func check(_ bytes: Int, name: String? = nil) throws {
        guard maximum != nil || bytes >= smallBytes, let (available, source) = available(), bytes > available else {
            return
        }
        throw MemoryError(
            (name.map { "\($0): " } ?? "")
                + "the model needs about \(gigabytes(bytes)); \(gigabytes(available)) is available (\(source))")
    }

    /// Training memory: the parameter vector seven times over (values, gradients, two
    /// optimiser moments, the steps' packed copy, and the two transient copies of initialising,
    /// exporting or checkpointing the weights), then per thread a frame holding every tensor's
    /// values and gradients, saved state of about a tensor's size and a gradient accumulator
    /// per parameter. An estimate from the layer list alone, made before anything is allocated;
    /// for a 168 M-parameter model on 2 threads it is within 10 % of the peak measured.
    public static func trainingBytes(_ architecture: Architecture, threads: Int) -> Int {
        let parameters = architecture.parameterCount
        let tensors = architecture.layers.reduce(architecture.inputShape.count) { $0 + $1.outputShape.count }
        let perThread = 3 * tensors + parameters
        let (floats, overflow) = (7 * parameters).addingReportingOverflow(max(1, threads) * perThread)
        return overflow ? Int.max : floats.multipliedReportingOverflow(by: 4).overflow ? Int.max : floats * 4
    }

    /// "5.9 GB", "310.0 MB", "65.5 KB": decimal units, one decimal.
    static func gigabytes(_ bytes: Int) -> String {
        let value = Double(bytes)
        if value >= 1e9 { return formatOne(value / 1e9) + " GB" }
        if value >= 1e6 { return formatOne(value / 1e6) + " MB" }
        return formatOne(value / 1e3) + " KB"
    }

    private static func formatOne(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// Takes a tool's --max-memory option (nil: not given), refusing what is not a size.
    public static func setMaximum(option: String?) throws {
        guard let option else { return }
        guard let bytes = parseSize(option) else {
            throw MemoryError("--max-memory '\(option)' is not a size (bytes, or a number with K, M, G or T)")
        }
        maximum = bytes
    }

    /// A size for --max-memory: bytes, or with K, M, G or T (powers of 1024; "GiB" and
    /// "GB" read the same); nil if it is not one.
    public static func parseSize(_ text: String) -> Int? {
        var digits = Substring(text)
        var scale = 1
        let units: [(String, Int)] = [("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
        for suffix in ["iB", "B"]
        where digits.uppercased().hasSuffix(suffix.uppercased()) && digits.count > suffix.count {
            digits = digits.dropLast(suffix.count)
            break
        }
        if let (_, factor) = units.first(where: { digits.uppercased().hasSuffix($0.0) }) {
            scale = factor
            digits = digits.dropLast()
        }
        guard let value = Int(digits), value > 0 else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : bytes
    }

    /// The number after `key` on its line of a /proc file (kB for both files read here).
    private static func procField(_ path: String, _ key: String) -> Int? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 8192)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + count, $0.count - count) }
            if n <= 0 { break }
            count += n
        }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            return Int(line.dropFirst(key.count).split(separator: " ").first ?? "")
        }
        return nil
    }
}

/// Not enough memory for a model: one line with the estimate and what is available.
public struct MemoryError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
