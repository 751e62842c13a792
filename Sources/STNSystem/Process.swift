#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// An environment variable, nil when unset or empty.
public func environmentValue(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let string = String(cString: value)
    return string.isEmpty ? nil : string
}

/// Cores this process may run on (at least 1).
public func processorCount() -> Int {
    max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

/// The running executable's path with symbolic links resolved (Linux: /proc/self/exe),
/// else the resolved argv[0].
public func executablePath() -> String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    if n > 0 { return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    guard let resolved = realpath(CommandLine.arguments[0], nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}
