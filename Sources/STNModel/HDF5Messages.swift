/// The object-header messages the built-in reader understands (HDF5 File Format
/// Specification, section IV.A.2): dataspace, datatype, data layout, attribute, symbol
/// table and continuation. Everything else is skipped.
enum HDF5MessageType {
    static let dataspace = 0x01
    static let datatype = 0x03
    static let layout = 0x08
    static let filterPipeline = 0x0B
    static let attribute = 0x0C
    static let continuation = 0x10
    static let symbolTable = 0x11
}

/// The element type of a dataset or attribute.
struct HDF5Datatype {
    enum Kind: Equatable {
        case integer(signed: Bool)
        case float
        case fixedString
        case variableString
        case other(Int)
    }
    var kind: Kind
    /// Bytes per element as stored (for variable-length data: the reference's size).
    var size: Int
    var bigEndian: Bool

    var description: String {
        switch kind {
        case .integer(let signed): return "\(signed ? "int" : "uint")\(size * 8)"
        case .float: return "float\(size * 8)"
        case .fixedString, .variableString: return "string"
        case .other(let c): return "HDF5 type class \(c)"
        }
    }

    init(_ file: HDF5Bytes, at position: Int) throws {
        var c = HDF5Cursor(file, at: position)
        let classAndVersion = try c.u8("datatype")
        let bits = try c.u8("datatype")
        _ = try c.u16("datatype")
        size = try c.u32("datatype size")
        let typeClass = classAndVersion & 0x0F
        bigEndian = bits & 1 != 0
        switch typeClass {
        case 0:
            kind = .integer(signed: bits & 0x08 != 0)
            guard [1, 2, 4, 8].contains(size) else {
                kind = .other(typeClass)
                return
            }
        case 1:
            kind = .float
            // Bits 0 and 6 together give the byte order; 0b10 is reserved, 0b11 is VAX.
            guard bits & 0x40 == 0, size == 4 || size == 8 else {
                kind = .other(typeClass)
                return
            }
        case 3:
            kind = .fixedString
        case 9:
            // Variable-length: bits 0-3 say sequence (0) or string (1).
            kind = bits & 0x0F == 1 ? .variableString : .other(typeClass)
        default:
            kind = .other(typeClass)
        }
    }
}

/// The shape of a dataset or attribute.
struct HDF5Dataspace {
    /// Empty for a scalar.
    var shape: [Int]
    /// A null dataspace holds no elements.
    var isNull = false
    var count: Int { isNull ? 0 : shape.reduce(1, *) }

    init(_ file: HDF5Bytes, at position: Int) throws {
        var c = HDF5Cursor(file, at: position)
        let version = try c.u8("dataspace")
        let rank = try c.u8("dataspace")
        _ = try c.u8("dataspace")
        switch version {
        case 1: try c.skip(5, "dataspace")
        case 2: isNull = try c.u8("dataspace") == 2
        default: throw file.corrupt("dataspace version \(version)")
        }
        guard rank <= 32 else { throw file.corrupt("dataspace rank \(rank)") }
        shape = []
        var total: UInt64 = 1
        for _ in 0 ..< rank {
            let dimension = try c.uint(file.lengthSize, "dataspace dimension")
            // A wrapped product (2^32 x 2^32 = 0) would pass the bound and trap later.
            let (product, overflow) = total.multipliedReportingOverflow(by: max(dimension, 1))
            guard !overflow, dimension <= 1 << 40, product <= 1 << 40 else {
                throw file.corrupt("dataspace dimension \(dimension)")
            }
            total = product
            shape.append(Int(dimension))
        }
    }
}

/// Where a dataset's elements are.
enum HDF5Layout {
    /// Stored inline in the object header.
    case compact(position: Int, size: Int)
    /// One block in the file; an undefined address means never written (all fill value).
    case contiguous(address: UInt64)
    case chunked
    case other(Int)

    init(_ file: HDF5Bytes, at position: Int) throws {
        var c = HDF5Cursor(file, at: position)
        let version = try c.u8("layout")
        switch version {
        case 1, 2:
            let rank = try c.u8("layout")
            let layoutClass = try c.u8("layout")
            try c.skip(5, "layout")
            switch layoutClass {
            case 0:
                try c.skip(4 * rank, "layout")
                let size = try c.u32("layout")
                self = .compact(position: c.position, size: size)
            case 1: self = .contiguous(address: try c.address("layout address"))
            case 2: self = .chunked
            default: self = .other(layoutClass)
            }
        case 3, 4:
            let layoutClass = try c.u8("layout")
            switch layoutClass {
            case 0:
                let size = try c.u16("layout")
                self = .compact(position: c.position, size: size)
            case 1: self = .contiguous(address: try c.address("layout address"))
            case 2: self = .chunked
            default: self = .other(layoutClass)
            }
        default:
            throw file.corrupt("layout version \(version)")
        }
    }
}

/// One message of an object header: its type and where its body is.
struct HDF5Message {
    var type: Int
    var position: Int
    var size: Int
    /// Bit 1: the body is a reference to a shared message elsewhere.
    var flags: Int
    var isShared: Bool { flags & 0x02 != 0 }
}

/// The messages of a version-1 object header (what libhdf5 and h5py write by default),
/// following continuation blocks.
func hdf5Messages(_ file: HDF5Bytes, objectAt address: UInt64) throws -> [HDF5Message] {
    let start = try file.position(address, "object header")
    if file.matches("OHDR", at: start) {
        throw HDF5Error(
            path: file.path,
            "uses version-2 object headers (written with libver='latest'), which the built-in reader does not read; write it with default HDF5 settings"
        )
    }
    var c = HDF5Cursor(file, at: start)
    let version = try c.u8("object header")
    guard version == 1 else { throw file.corrupt("object header version \(version)") }
    try c.skip(1)
    let messageCount = try c.u16("object header")
    try c.skip(4)
    let headerSize = try c.u32("object header size")
    // Messages start after the 12-byte prefix padded to 8 bytes.
    var blocks = [(start + 16, headerSize)]
    var messages: [HDF5Message] = []
    var index = 0
    while index < blocks.count {
        let (blockStart, blockSize) = blocks[index]
        index += 1
        guard blocks.count < 1024 else { throw file.corrupt("too many object header continuations") }
        try file.check(blockStart, blockSize, "object header block")
        var m = HDF5Cursor(file, at: blockStart)
        while m.position + 8 <= blockStart + blockSize, messages.count < messageCount {
            let type = try m.u16()
            let size = try m.u16()
            let flags = try m.u8()
            try m.skip(3)
            guard m.position + size <= blockStart + blockSize else { throw file.corrupt("object header message size") }
            messages.append(HDF5Message(type: type, position: m.position, size: size, flags: flags))
            if type == HDF5MessageType.continuation {
                var k = HDF5Cursor(file, at: m.position)
                let next = try file.position(try k.address("continuation"), "continuation")
                blocks.append((next, try k.length("continuation length")))
            }
            try m.skip(size)
        }
    }
    return messages
}
