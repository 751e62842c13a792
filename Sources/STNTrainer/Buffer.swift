/// A fixed-size, 64-byte-aligned, zero-initialised buffer of T, freed with its owner.
/// Planned once; the training and inference loops only read and write it.
final class Buffer<T> {
    let pointer: UnsafeMutablePointer<T>
    let count: Int

    init(_ count: Int, zero: T) {
        self.count = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: self.count * MemoryLayout<T>.stride, alignment: 64)
        pointer = raw.bindMemory(to: T.self, capacity: self.count)
        pointer.initialize(repeating: zero, count: self.count)
    }

    deinit { pointer.deallocate() }
}

typealias Floats = Buffer<Float>

extension Buffer where T == Float {
    convenience init(_ count: Int) { self.init(count, zero: 0) }
    func zero() { pointer.initialize(repeating: 0, count: count) }
}
