/// The bytes of an HDF5 file with bounds-checked little-endian reads: every read past the
/// end, or of a forged size, throws an error naming the file instead of trapping.
struct HDF5Bytes {
    let path: String
    /// The file's bytes (a read-only mapping owned by the reader).
    let bytes: UnsafeRawBufferPointer
    /// Sizes of file addresses ("offsets") and of lengths, from the superblock.
    var offsetSize = 8
    var lengthSize = 8
    /// Addresses are relative to the superblock's base address (non-zero after a user block).
    var base: UInt64 = 0

    func corrupt(_ what: String) -> HDF5Error { HDF5Error(path: path, "corrupt or truncated HDF5 file (\(what))") }

    func check(_ position: Int, _ count: Int, _ what: String) throws {
        guard position >= 0, count >= 0, position <= bytes.count, count <= bytes.count - position else {
            throw corrupt(what)
        }
    }

    /// An unsigned little-endian integer of `size` bytes (1...8).
    func uint(at position: Int, size: Int, _ what: String = "integer") throws -> UInt64 {
        try check(position, size, what)
        var value: UInt64 = 0
        for i in stride(from: size - 1, through: 0, by: -1) { value = value << 8 | UInt64(bytes[position + i]) }
        return value
    }

    func matches(_ signature: String, at position: Int) -> Bool {
        matches(Array(signature.utf8), at: position)
    }

    func matches(_ expected: [UInt8], at position: Int) -> Bool {
        guard position >= 0, position + expected.count <= bytes.count else { return false }
        return bytes[position ..< position + expected.count].elementsEqual(expected)
    }

    /// A NUL-terminated string starting at `position`.
    func cString(at position: Int, limit: Int, _ what: String) throws -> String {
        try check(position, 0, what)
        let end = min(bytes.count, position + limit)
        guard let nul = bytes[position ..< end].firstIndex(of: 0) else { throw corrupt(what) }
        return String(decoding: bytes[position ..< nul], as: UTF8.self)
    }

    /// "Undefined address" is all ones in the file's offset size.
    func isUndefined(_ address: UInt64) -> Bool {
        offsetSize == 8 ? address == .max : address == (UInt64(1) << (8 * offsetSize)) - 1
    }

    /// A file address as an index into `bytes`, checked to lie inside the file.
    func position(_ address: UInt64, _ what: String) throws -> Int {
        let (absolute, overflow) = address.addingReportingOverflow(base)
        guard !overflow, absolute < UInt64(bytes.count) else {
            throw corrupt("\(what) points past the end of the file")
        }
        return Int(absolute)
    }
}

/// A read position in `HDF5Bytes` that advances as fields are read.
struct HDF5Cursor {
    let file: HDF5Bytes
    var position: Int

    init(_ file: HDF5Bytes, at position: Int) {
        self.file = file
        self.position = position
    }

    mutating func uint(_ size: Int, _ what: String = "field") throws -> UInt64 {
        let value = try file.uint(at: position, size: size, what)
        position += size
        return value
    }
    mutating func u8(_ what: String = "field") throws -> Int { Int(try uint(1, what)) }
    mutating func u16(_ what: String = "field") throws -> Int { Int(try uint(2, what)) }
    mutating func u32(_ what: String = "field") throws -> Int { Int(try uint(4, what)) }
    mutating func address(_ what: String = "address") throws -> UInt64 { try uint(file.offsetSize, what) }
    /// A length field, checked to be a plausible size for this file.
    mutating func length(_ what: String = "length") throws -> Int {
        let value = try uint(file.lengthSize, what)
        guard value <= UInt64(file.bytes.count) else { throw file.corrupt(what) }
        return Int(value)
    }
    mutating func skip(_ count: Int, _ what: String = "field") throws {
        try file.check(position, count, what)
        position += count
    }
    mutating func bytes(_ count: Int, _ what: String = "data") throws -> Slice<UnsafeRawBufferPointer> {
        try file.check(position, count, what)
        defer { position += count }
        return file.bytes[position ..< position + count]
    }
}
