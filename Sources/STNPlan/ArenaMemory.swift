#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The inference arena's memory: zeroed anonymous pages, page-aligned, every page resident
/// before the first frame (so no frame takes a page fault).
///
/// An arena of 256 KiB or more is placed on a 2 MiB boundary and advised as a transparent
/// huge page where the kernel offers them (Linux `madvise` mode): one fault maps 2 MiB, where
/// 4 KiB pages take one fault each. For the ST-CNN's 1 MiB arena that is 256 faults, about
/// 260 us to map and 60 us to unmap, against about 45 us for one huge page (measured on a
/// Zen 4 VM): about 5 % of a one-image process's start-up. Without huge pages the same call
/// falls back to 4 KiB pages, populated in one call.
final class ArenaMemory {
    /// The arena's first byte.
    let base: UnsafeMutableRawPointer
    /// Bytes usable from `base`: the arena, and on huge pages the rest of the last page
    /// (mapped, but only resident once touched when huge pages are not on offer).
    let capacity: Int
    private let mapping: UnsafeMutableRawPointer
    private let mappingBytes: Int

    private static let hugePageBytes = 2 << 20
    private static let hugePageThreshold = 256 << 10

    /// Maps `bytes` of zeroed memory; nil when the system refuses it.
    init?(bytes: Int) {
        guard bytes > 0 else { return nil }
        let huge = ArenaMemory.hugePageBytes
        #if os(Linux)
            if bytes >= ArenaMemory.hugePageThreshold {
                // Over-map by one huge page, keep the aligned part, return the slack.
                let rounded = (bytes + huge - 1) / huge * huge
                let over = rounded + huge
                if let raw = mmap(nil, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                    raw != MAP_FAILED
                {
                    let address = Int(bitPattern: raw)
                    let aligned = (address + huge - 1) / huge * huge
                    let head = aligned - address
                    if head > 0 { munmap(raw, head) }
                    let tail = over - head - rounded
                    if tail > 0 { munmap(raw + head + rounded, tail) }
                    let start = raw + head
                    _ = madvise(start, rounded, 14)  // MADV_HUGEPAGE: advice only; failure is harmless
                    // MADV_POPULATE_WRITE (Linux 5.14+) maps the arena's pages now; older
                    // kernels refuse it, and touching one byte per 4 KiB page does the same.
                    let resident = (bytes + 4095) / 4096 * 4096
                    if madvise(start, resident, 23) != 0 {
                        for offset in stride(from: 0, to: resident, by: 4096) {
                            start.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self)
                        }
                    }
                    base = start
                    capacity = rounded
                    mapping = start
                    mappingBytes = rounded
                    return
                }
            }
            let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE
        #else
            let flags = MAP_PRIVATE | MAP_ANON
        #endif
        guard let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, flags, -1, 0), raw != MAP_FAILED else {
            return nil
        }
        base = raw
        capacity = bytes
        mapping = raw
        mappingBytes = bytes
    }

    deinit {
        munmap(mapping, mappingBytes)
    }
}
