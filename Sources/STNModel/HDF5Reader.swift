import STNSystem

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// A small read-only HDF5 reader in plain Swift, for the files stn-swift and h5py write
/// with default settings: superblock version 0 or 1, version-1 object headers,
/// symbol-table groups, contiguous or compact datasets of integers and IEEE floats, and
/// scalar root attributes (numbers and fixed- or variable-length strings).
///
/// It exists so the inference engine does not link libhdf5, whose loading alone (with
/// the libcurl, GnuTLS and Kerberos it pulls in on Debian) costs several milliseconds per
/// process. Anything outside that subset (chunked or compressed datasets, "latest"
/// format files) is rejected with an error naming the file and the feature. The whole
/// file is parsed once at init; reads only convert values.
public final class HDF5Reader {
    public let path: String
    private var file: HDF5Bytes
    private var datasets: [String: Dataset] = [:]
    private var rootAttributes: [String: HDF5Attribute] = [:]
    private var visitedGroups: Set<UInt64> = []
    /// Tree nodes and objects left to visit: a damaged file whose links loop or fan out
    /// fails instead of running for ever.
    private var visitBudget = 100_000
    /// The file mapped read-only: no copy of the bytes, and pages come from the page cache.
    /// For a reader made from bytes in memory, a copy of them (`isMapped` false).
    private let mapping: UnsafeMutableRawPointer
    private let mappedBytes: Int
    private let isMapped: Bool

    private struct Dataset {
        var shape: [Int]
        var type: HDF5Datatype
        var layout: HDF5Layout
        var isFiltered: Bool
    }

    public init(path: String) throws {
        self.path = path
        let (descriptor, size): (Int32, Int)
        do {
            (descriptor, size) = try openForReading(path)
        } catch let error as FileError {
            switch error.reason {
            case "no such file": throw HDF5Error(path: path, "no such file")
            case "is a directory": throw HDF5Error(path: path, "is a directory, not an HDF5 file")
            default: throw HDF5Error(path: path, "cannot read file: \(error.reason)")
            }
        }
        defer { close(descriptor) }
        guard size >= 8 else { throw HDF5Error(path: path, "not an HDF5 file") }
        mappedBytes = size
        guard let mapped = mmap(nil, mappedBytes, PROT_READ, MAP_PRIVATE | MAP_POPULATE, descriptor, 0),
            mapped != MAP_FAILED
        else {
            throw HDF5Error(path: path, "cannot read file: \(String(cString: strerror(errno)))")
        }
        mapping = mapped
        isMapped = true
        file = HDF5Bytes(path: path, bytes: UnsafeRawBufferPointer(start: mapped, count: mappedBytes))
        let root = try readSuperblock()
        try visitObject(at: root, path: "", depth: 0)
    }

    /// Reads an HDF5 file already in memory (e.g. weights embedded in a program). The
    /// bytes are copied, so the caller's buffer need not outlive the reader; `name` stands
    /// for the path in error messages.
    public init(bytes: UnsafeRawBufferPointer, name: String) throws {
        path = name
        guard bytes.count >= 8, let source = bytes.baseAddress else { throw HDF5Error(path: name, "not an HDF5 file") }
        mappedBytes = bytes.count
        mapping = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 16)
        mapping.copyMemory(from: source, byteCount: bytes.count)
        isMapped = false
        file = HDF5Bytes(path: name, bytes: UnsafeRawBufferPointer(start: mapping, count: mappedBytes))
        let root = try readSuperblock()
        try visitObject(at: root, path: "", depth: 0)
    }

    deinit {
        if isMapped { munmap(mapping, mappedBytes) } else { mapping.deallocate() }
    }

    // MARK: Datasets

    /// Paths of every dataset in the file ("a/b/c"), sorted.
    public func datasetPaths() -> [String] { datasets.keys.sorted() }

    public func hasDataset(_ name: String) -> Bool { datasets[name] != nil }

    /// The dataset's shape (an empty array for a scalar).
    public func shape(of name: String) throws -> [Int] { try dataset(name).shape }

    /// The element class and size as stored, e.g. ("float", 4).
    public func storedType(of name: String) throws -> (kind: String, bytes: Int) {
        let type = try dataset(name).type
        switch type.kind {
        case .float: return ("float", type.size)
        case .integer: return ("int", type.size)
        case .fixedString, .variableString: return ("string", type.size)
        case .other: return ("other", type.size)
        }
    }

    /// Reads a floating-point or integer dataset, converted to Float.
    public func readFloats(_ name: String) throws -> HDF5Dataset<Float> {
        // locate checks the size against the file before anything is allocated.
        let shape = try locate(name, integerOnly: false).0.shape
        let count = shape.reduce(1, *)
        guard count > 0 else { return HDF5Dataset(shape: shape, values: []) }
        let values = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = try readFloats(name, into: buffer.baseAddress!, capacity: count)
        }
        return HDF5Dataset(shape: shape, values: values)
    }

    /// Copies a numeric dataset's values, converted to Float, to `target`, which holds
    /// `capacity` values; returns how many there were (more than `capacity` is an error
    /// naming the dataset, with nothing written).
    @discardableResult
    public func readFloats(_ name: String, into target: UnsafeMutablePointer<Float>, capacity: Int) throws -> Int {
        let (entry, position) = try locate(name, integerOnly: false)
        let count = entry.shape.reduce(1, *)
        guard count <= capacity else {
            throw HDF5Error(path: path, "dataset '\(name)' has \(count) values, more than the \(capacity) expected")
        }
        guard let position else {
            target.initialize(repeating: 0, count: count)
            return count
        }
        if entry.type.kind == .float, entry.type.size == 4, !entry.type.bigEndian, count > 0 {
            UnsafeMutableRawPointer(target).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: file.bytes[position ..< position + 4 * count]).baseAddress!,
                byteCount: 4 * count)
            return count
        }
        for i in 0 ..< count { target[i] = Float(try number(entry.type, at: position + i * entry.type.size)) }
        return count
    }

    /// Reads a floating-point or integer dataset, converted to Double.
    public func readDoubles(_ name: String) throws -> HDF5Dataset<Double> {
        let (entry, position) = try locate(name, integerOnly: false)
        let count = entry.shape.reduce(1, *)
        guard let position else { return HDF5Dataset(shape: entry.shape, values: [Double](repeating: 0, count: count)) }
        return HDF5Dataset(
            shape: entry.shape,
            values: try (0 ..< count).map { try number(entry.type, at: position + $0 * entry.type.size) })
    }

    /// Reads an integer dataset, converted to Int64.
    public func readInts(_ name: String) throws -> HDF5Dataset<Int64> {
        let (entry, position) = try locate(name, integerOnly: true)
        let count = entry.shape.reduce(1, *)
        guard let position else { return HDF5Dataset(shape: entry.shape, values: [Int64](repeating: 0, count: count)) }
        return HDF5Dataset(
            shape: entry.shape,
            values: try (0 ..< count).map { try integer(entry.type, at: position + $0 * entry.type.size) })
    }

    // MARK: Root attributes

    /// Every attribute on the root group that is a scalar number or string, by name.
    public func attributes() -> [String: HDF5Attribute] { rootAttributes }

    /// One root attribute, or nil if it is absent or of a type we do not read.
    public func attribute(_ name: String) -> HDF5Attribute? { rootAttributes[name] }

    // MARK: Parsing

    /// Finds the superblock (at 0, 512, 1024, ... after a user block) and returns the
    /// root group's object header address.
    private func readSuperblock() throws -> UInt64 {
        var start = 0
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]  // "\x89HDF\r\n\x1a\n"
        while !file.matches(signature, at: start) {
            start = start == 0 ? 512 : start * 2
            guard start + 8 <= file.bytes.count else { throw HDF5Error(path: path, "not an HDF5 file") }
        }
        var c = HDF5Cursor(file, at: start + 8)
        let version = try c.u8("superblock")
        guard version <= 1 else {
            throw HDF5Error(
                path: path,
                "uses HDF5 superblock version \(version) (written with libver='latest'), which the built-in reader does not read; write it with default HDF5 settings"
            )
        }
        try c.skip(4, "superblock")
        let offsetSize = try c.u8("superblock")
        let lengthSize = try c.u8("superblock")
        guard [2, 4, 8].contains(offsetSize), [2, 4, 8].contains(lengthSize) else {
            throw file.corrupt("superblock sizes \(offsetSize)/\(lengthSize)")
        }
        file.offsetSize = offsetSize
        file.lengthSize = lengthSize
        try c.skip(1 + 4 + 4 + (version == 1 ? 4 : 0), "superblock")
        c = HDF5Cursor(file, at: c.position)
        file.base = try c.address("base address")
        try c.skip(3 * offsetSize, "superblock")
        // The root group's symbol table entry: name offset, then its object header address.
        try c.skip(offsetSize, "root entry")
        return try c.address("root object header")
    }

    private func visitObject(at address: UInt64, path objectPath: String, depth: Int) throws {
        guard depth < 32 else { throw file.corrupt("groups nested too deeply") }
        try spendVisit()
        let messages = try hdf5Messages(file, objectAt: address)
        if depth == 0 {
            for message in messages where message.type == HDF5MessageType.attribute {
                if let (name, value) = try attribute(message) { rootAttributes[name] = value }
            }
        }
        if let table = messages.first(where: { $0.type == HDF5MessageType.symbolTable }) {
            // A group: visit each once (hard links may form cycles).
            guard visitedGroups.insert(address).inserted else { return }
            var c = HDF5Cursor(file, at: table.position)
            let tree = try c.address("group B-tree")
            let heap = try localHeap(at: try c.address("group heap"))
            try visitGroupTree(at: tree, heap: heap, prefix: objectPath, depth: depth, level: nil)
        } else if messages.contains(where: { $0.type == 0x06 || $0.type == 0x02 }) {
            throw HDF5Error(
                path: path,
                "group '\(objectPath)' uses link messages (a newer HDF5 group format), which the built-in reader does not read"
            )
        } else if let space = messages.first(where: { $0.type == HDF5MessageType.dataspace }),
            let type = messages.first(where: { $0.type == HDF5MessageType.datatype }),
            let layout = messages.first(where: { $0.type == HDF5MessageType.layout })
        {
            guard !type.isShared else {
                throw HDF5Error(
                    path: path,
                    "dataset '\(objectPath)' uses a committed (shared) datatype, which the built-in reader does not read"
                )
            }
            datasets[objectPath] = Dataset(
                shape: try HDF5Dataspace(file, at: space.position).shape,
                type: try HDF5Datatype(file, at: type.position),
                layout: try HDF5Layout(file, at: layout.position),
                isFiltered: messages.contains { $0.type == HDF5MessageType.filterPipeline })
        }
    }

    private func spendVisit() throws {
        visitBudget -= 1
        guard visitBudget >= 0 else { throw file.corrupt("group structure loops") }
    }

    /// A local heap's data segment: where group member names are stored.
    private func localHeap(at address: UInt64) throws -> (position: Int, size: Int) {
        let start = try file.position(address, "local heap")
        guard file.matches("HEAP", at: start) else { throw file.corrupt("local heap signature") }
        var c = HDF5Cursor(file, at: start + 8)
        let size = try c.length("local heap size")
        try c.skip(file.lengthSize)
        let data = try file.position(try c.address("local heap data"), "local heap data")
        try file.check(data, size, "local heap data")
        return (data, size)
    }

    /// Walks a version-1 B-tree of a group down to its symbol table nodes.
    private func visitGroupTree(
        at address: UInt64, heap: (position: Int, size: Int), prefix: String, depth: Int, level expected: Int?
    ) throws {
        try spendVisit()
        let start = try file.position(address, "group B-tree")
        guard file.matches("TREE", at: start) else { throw file.corrupt("group B-tree signature") }
        var c = HDF5Cursor(file, at: start + 4)
        let nodeType = try c.u8()
        let level = try c.u8()
        let entries = try c.u16()
        guard nodeType == 0, expected.map({ level == $0 }) ?? true else { throw file.corrupt("group B-tree node") }
        try c.skip(2 * file.offsetSize)
        var children: [UInt64] = []
        for _ in 0 ..< entries {
            try c.skip(file.lengthSize)  // key: a heap offset, not needed to list members
            children.append(try c.address("group B-tree child"))
        }
        for child in children {
            if level > 0 {
                try visitGroupTree(at: child, heap: heap, prefix: prefix, depth: depth, level: level - 1)
            } else {
                try visitSymbolNode(at: child, heap: heap, prefix: prefix, depth: depth)
            }
        }
    }

    private func visitSymbolNode(at address: UInt64, heap: (position: Int, size: Int), prefix: String, depth: Int)
        throws
    {
        let start = try file.position(address, "symbol table node")
        guard file.matches("SNOD", at: start) else { throw file.corrupt("symbol table node signature") }
        var c = HDF5Cursor(file, at: start + 6)
        let count = try c.u16()
        for _ in 0 ..< count {
            let nameOffset = try c.address("symbol name")
            let object = try c.address("symbol object")
            try c.skip(4 + 4 + 16)  // cache type, reserved, scratch pad
            guard nameOffset < UInt64(heap.size) else { throw file.corrupt("symbol name offset") }
            let name = try file.cString(
                at: heap.position + Int(nameOffset), limit: heap.size - Int(nameOffset), "symbol name")
            try visitObject(at: object, path: prefix.isEmpty ? name : prefix + "/" + name, depth: depth + 1)
        }
    }

    /// A scalar attribute's name and value; nil for shapes and types we do not read.
    private func attribute(_ message: HDF5Message) throws -> (String, HDF5Attribute?)? {
        var c = HDF5Cursor(file, at: message.position)
        let version = try c.u8("attribute")
        guard (1 ... 3).contains(version) else { throw file.corrupt("attribute version \(version)") }
        let flags = try c.u8("attribute")
        let nameSize = try c.u16("attribute")
        let typeSize = try c.u16("attribute")
        let spaceSize = try c.u16("attribute")
        if version == 3 { try c.skip(1) }
        // Version 1 pads each part to a multiple of 8 bytes.
        func padded(_ n: Int) -> Int { version == 1 ? (n + 7) & ~7 : n }
        let name = try file.cString(at: c.position, limit: nameSize, "attribute name")
        try c.skip(padded(nameSize))
        let typePosition = c.position
        try c.skip(padded(typeSize))
        let spacePosition = c.position
        try c.skip(padded(spaceSize))
        guard version == 1 || flags & 0x03 == 0, !message.isShared else { return (name, nil) }
        let type = try HDF5Datatype(file, at: typePosition)
        guard try HDF5Dataspace(file, at: spacePosition).count == 1 else { return (name, nil) }
        let data = c.position
        switch type.kind {
        case .integer: return (name, .int(Int(try integer(type, at: data))))
        case .float: return (name, .double(try number(type, at: data)))
        case .fixedString:
            try file.check(data, type.size, "attribute '\(name)'")
            let bytes = file.bytes[data ..< data + type.size]
            return (name, .string(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)))
        case .variableString:
            var v = HDF5Cursor(file, at: data)
            let length = try v.u32("attribute '\(name)'")
            let collection = try v.address("attribute '\(name)'")
            let index = try v.u32("attribute '\(name)'")
            return (name, .string(try globalHeapString(collection: collection, index: index, length: length)))
        case .other: return (name, nil)
        }
    }

    /// A variable-length string stored in a global heap collection.
    private func globalHeapString(collection address: UInt64, index wanted: Int, length: Int) throws -> String {
        let start = try file.position(address, "global heap")
        guard file.matches("GCOL", at: start) else { throw file.corrupt("global heap signature") }
        var c = HDF5Cursor(file, at: start + 8)
        let size = try c.length("global heap size")
        let end = start + size
        try file.check(start, size, "global heap")
        while c.position + 8 + file.lengthSize <= end {
            let index = try c.u16()
            try c.skip(6)
            let objectSize = try c.length("global heap object")
            if index == 0 { break }  // the free space: no objects follow
            if index == wanted {
                guard length <= objectSize else { throw file.corrupt("global heap string length") }
                return String(decoding: try c.bytes(length, "global heap string"), as: UTF8.self)
            }
            try c.skip((objectSize + 7) & ~7, "global heap object")
        }
        throw file.corrupt("global heap object \(wanted) not found")
    }

    // MARK: Values

    private func dataset(_ name: String) throws -> Dataset {
        guard let entry = datasets[name] else { throw HDF5Error(path: path, "missing dataset '\(name)'") }
        return entry
    }

    /// The dataset and the file position of its first element (nil: never written, all zero).
    private func locate(_ name: String, integerOnly: Bool) throws -> (Dataset, Int?) {
        let entry = try dataset(name)
        switch entry.type.kind {
        case .integer: break
        case .float where !integerOnly: break
        default:
            throw HDF5Error(
                path: path,
                "dataset '\(name)' is \(entry.type.description), not \(integerOnly ? "an integer" : "a numeric") dataset"
            )
        }
        guard !entry.isFiltered else {
            throw HDF5Error(
                path: path,
                "dataset '\(name)' is compressed or filtered, which the built-in reader does not read; save it without compression"
            )
        }
        let (bytes, overflow) = entry.shape.reduce(1, *).multipliedReportingOverflow(by: entry.type.size)
        guard !overflow, bytes <= file.bytes.count else {
            throw file.corrupt("dataset '\(name)' is larger than the file")
        }
        switch entry.layout {
        case .compact(let position, let size):
            guard bytes <= size else { throw file.corrupt("dataset '\(name)' is larger than its compact storage") }
            try file.check(position, bytes, "dataset '\(name)'")
            return (entry, position)
        case .contiguous(let address):
            if file.isUndefined(address) { return (entry, nil) }
            let position = try file.position(address, "dataset '\(name)'")
            try file.check(position, bytes, "dataset '\(name)' data")
            return (entry, position)
        case .chunked:
            throw HDF5Error(
                path: path,
                "dataset '\(name)' is chunked, which the built-in reader does not read; save it with contiguous layout (no chunks or compression)"
            )
        case .other(let layoutClass):
            throw HDF5Error(
                path: path,
                "dataset '\(name)' has storage layout class \(layoutClass), which the built-in reader does not read")
        }
    }

    /// The raw bits of one element, in host order.
    private func bits(_ type: HDF5Datatype, at position: Int) throws -> UInt64 {
        let raw = try file.uint(at: position, size: type.size)
        return type.bigEndian ? raw.byteSwapped >> UInt64(64 - 8 * type.size) : raw
    }

    private func integer(_ type: HDF5Datatype, at position: Int) throws -> Int64 {
        let raw = try bits(type, at: position)
        guard case .integer(let signed) = type.kind else { return Int64(try number(type, at: position)) }
        if signed, type.size < 8 {
            let shift = UInt64(64 - 8 * type.size)
            return Int64(bitPattern: raw << shift) >> Int64(shift)
        }
        return Int64(bitPattern: raw)
    }

    private func number(_ type: HDF5Datatype, at position: Int) throws -> Double {
        switch type.kind {
        case .float:
            let raw = try bits(type, at: position)
            return type.size == 4 ? Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw))) : Double(bitPattern: raw)
        case .integer(let signed):
            let value = try integer(type, at: position)
            return signed ? Double(value) : Double(UInt64(bitPattern: value))
        default:
            throw HDF5Error(path: path, "\(type.description) is not a number")
        }
    }
}
