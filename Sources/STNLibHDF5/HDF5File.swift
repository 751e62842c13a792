import CHDF5
import Foundation
import STNModel

/// A thin, safe wrapper over the libhdf5 C API: the subset stn-swift needs (numeric
/// datasets addressed by slash-separated paths, and scalar attributes on the root group).
///
/// libhdf5's serial build is not thread-safe: use a file from one thread at a time.
public final class HDF5File {
    public enum Mode {
        case read
        /// Creates (truncates) a file on disk.
        case create
        /// Builds the file in memory (libhdf5's core driver without a backing store);
        /// `image()` returns its bytes for the caller to write. libhdf5 never touches the
        /// disk, so a full disk fails only the caller's plain write: a failed libhdf5 flush
        /// on close would leave the file open inside the library, which then crashed in its
        /// exit handler.
        case memory
    }

    public let path: String
    private let id: hid_t
    private var isOpen = true

    /// Opens an existing file for reading, creates (truncates) one for writing, or starts
    /// one in memory (`path` then only names it in messages).
    public init(path: String, mode: Mode) throws {
        self.path = path
        stn_h5_silence_errors()
        switch mode {
        case .read:
            guard FileManager.default.fileExists(atPath: path) else {
                throw HDF5Error(path: path, "no such file")
            }
            guard H5Fis_hdf5(path) > 0 else { throw HDF5Error(path: path, "not an HDF5 file") }
            id = H5Fopen(path, stn_h5f_acc_rdonly(), 0)
            guard id >= 0 else { throw HDF5Error(path: path, "cannot open HDF5 file") }
        case .create:
            id = H5Fcreate(path, stn_h5f_acc_trunc(), 0, 0)
            guard id >= 0 else { throw HDF5Error(path: path, "cannot create HDF5 file (is the directory writable?)") }
        case .memory:
            let access = H5Pcreate(stn_h5p_file_access())
            guard access >= 0 else { throw HDF5Error(path: path, "cannot create an HDF5 property list") }
            defer { H5Pclose(access) }
            guard H5Pset_fapl_core(access, 1 << 20, false) >= 0 else {
                throw HDF5Error(path: path, "cannot select libhdf5's in-memory driver")
            }
            id = H5Fcreate(path, stn_h5f_acc_trunc(), 0, access)
            guard id >= 0 else { throw HDF5Error(path: path, "cannot create an in-memory HDF5 file") }
        }
    }

    deinit {
        if isOpen { H5Fclose(id) }
    }

    /// Flushes and closes the file now, reporting a failure (deinit cannot). Closing twice is a no-op.
    public func close() throws {
        guard isOpen else { return }
        isOpen = false
        guard H5Fclose(id) >= 0 else { throw HDF5Error(path: path, "cannot close file") }
    }

    /// Flushes the file, reporting a failure.
    public func flush() throws {
        guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw HDF5Error(path: path, "cannot flush file") }
    }

    /// The complete file as bytes (for a `.memory` file: what to write to disk).
    public func image() throws -> [UInt8] {
        // The metadata cache holds the last headers until flushed.
        try flush()
        let size = H5Fget_file_image(id, nil, 0)
        guard size > 0 else { throw HDF5Error(path: path, "cannot build the file's image") }
        var bytes = [UInt8](repeating: 0, count: size)
        let copied = bytes.withUnsafeMutableBytes { H5Fget_file_image(id, $0.baseAddress, $0.count) }
        guard copied == size else { throw HDF5Error(path: path, "cannot build the file's image") }
        return bytes
    }

    /// Files, datasets, groups, types and attributes that libhdf5 holds open in this process
    /// (0 once every HDF5File is closed or released).
    public static var openObjectCount: Int {
        Int(stn_h5_open_object_count())
    }

    // MARK: Datasets

    /// Paths of every dataset in the file ("a/b/c"), sorted.
    public func datasetPaths() -> [String] {
        final class Box { var names: [String] = [] }
        let box = Box()
        let callback: H5L_iterate_t = { group, name, _, context in
            guard let name, let context else { return 0 }
            let box = Unmanaged<Box>.fromOpaque(context).takeUnretainedValue()
            let object = H5Oopen(group, name, 0)
            if object >= 0 {
                if H5Iget_type(object) == H5I_DATASET { box.names.append(String(cString: name)) }
                H5Oclose(object)
            }
            return 0
        }
        _ = H5Lvisit(id, H5_INDEX_NAME, H5_ITER_INC, callback, Unmanaged.passUnretained(box).toOpaque())
        return box.names.sorted()
    }

    public func hasDataset(_ name: String) -> Bool {
        // H5Lexists fails on a missing intermediate group, so check each prefix.
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            guard H5Lexists(id, prefix, 0) > 0 else { return false }
        }
        let object = H5Oopen(id, name, 0)
        guard object >= 0 else { return false }
        defer { H5Oclose(object) }
        return H5Iget_type(object) == H5I_DATASET
    }

    /// The dataset's shape (an empty array for a scalar).
    public func shape(of name: String) throws -> [Int] {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        return try shape(dataset, name)
    }

    /// Reads a floating-point or integer dataset, converted to Float.
    public func readFloats(_ name: String) throws -> HDF5Dataset<Float> {
        try read(name, memoryType: stn_h5t_native_float(), zero: Float(0))
    }

    /// Reads a floating-point or integer dataset, converted to Double.
    public func readDoubles(_ name: String) throws -> HDF5Dataset<Double> {
        try read(name, memoryType: stn_h5t_native_double(), zero: Double(0))
    }

    /// Reads an integer dataset, converted to Int64.
    public func readInts(_ name: String) throws -> HDF5Dataset<Int64> {
        try read(name, memoryType: stn_h5t_native_int64(), zero: Int64(0), integer: true)
    }

    /// The element class and size as stored, e.g. ("float", 4).
    public func storedType(of name: String) throws -> (kind: String, bytes: Int) {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        let type = H5Dget_type(dataset)
        defer { H5Tclose(type) }
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT: return ("float", size)
        case H5T_INTEGER: return ("int", size)
        case H5T_STRING: return ("string", size)
        default: return ("other", size)
        }
    }

    public func write(_ name: String, floats: [Float], shape: [Int]) throws {
        try write(name, shape: shape, count: floats.count, fileType: stn_h5t_native_float()) { dataset in
            floats.withUnsafeBytes { H5Dwrite(dataset, stn_h5t_native_float(), 0, 0, 0, $0.baseAddress) }
        }
    }

    public func write(_ name: String, doubles: [Double], shape: [Int]) throws {
        try write(name, shape: shape, count: doubles.count, fileType: stn_h5t_native_double()) { dataset in
            doubles.withUnsafeBytes { H5Dwrite(dataset, stn_h5t_native_double(), 0, 0, 0, $0.baseAddress) }
        }
    }

    public func write(_ name: String, ints: [Int64], shape: [Int]) throws {
        try write(name, shape: shape, count: ints.count, fileType: stn_h5t_native_int64()) { dataset in
            ints.withUnsafeBytes { H5Dwrite(dataset, stn_h5t_native_int64(), 0, 0, 0, $0.baseAddress) }
        }
    }

    private func openDataset(_ name: String) throws -> hid_t {
        guard hasDataset(name) else { throw HDF5Error(path: path, "missing dataset '\(name)'") }
        let dataset = H5Dopen2(id, name, 0)
        guard dataset >= 0 else { throw HDF5Error(path: path, "cannot open dataset '\(name)'") }
        return dataset
    }

    private func shape(_ dataset: hid_t, _ name: String) throws -> [Int] {
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0, rank <= 32 else { throw HDF5Error(path: path, "dataset '\(name)' has an unreadable shape") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else {
            throw HDF5Error(path: path, "dataset '\(name)' has an unreadable shape")
        }
        return dims.prefix(rank).map { Int($0) }
    }

    private func read<T>(_ name: String, memoryType: hid_t, zero: T, integer: Bool = false) throws -> HDF5Dataset<T> {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        let dims = try shape(dataset, name)
        let type = H5Dget_type(dataset)
        let typeClass = H5Tget_class(type)
        H5Tclose(type)
        let numeric = integer ? typeClass == H5T_INTEGER : (typeClass == H5T_FLOAT || typeClass == H5T_INTEGER)
        guard numeric else {
            throw HDF5Error(path: path, "dataset '\(name)' is not \(integer ? "an integer" : "a numeric") dataset")
        }
        let count = dims.reduce(1, *)
        // A forged header cannot make us allocate more than the file could hold.
        guard count <= 1 << 31 else { throw HDF5Error(path: path, "dataset '\(name)' is too large (\(dims))") }
        var values = [T](repeating: zero, count: count)
        let status = values.withUnsafeMutableBytes { H5Dread(dataset, memoryType, 0, 0, 0, $0.baseAddress) }
        guard status >= 0 else { throw HDF5Error(path: path, "cannot read dataset '\(name)' (corrupt file?)") }
        return HDF5Dataset(shape: dims, values: values)
    }

    private func write(_ name: String, shape: [Int], count: Int, fileType: hid_t, body: (hid_t) -> herr_t) throws {
        guard shape.reduce(1, *) == count else {
            throw HDF5Error(path: path, "dataset '\(name)': \(count) values do not fill shape \(shape)")
        }
        let dims = shape.map { hsize_t($0) }
        let space = dims.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(dims.count), dims, nil)
        defer { H5Sclose(space) }
        let linkProperties = H5Pcreate(stn_h5p_link_create())
        defer { H5Pclose(linkProperties) }
        H5Pset_create_intermediate_group(linkProperties, 1)
        let dataset = H5Dcreate2(id, name, fileType, space, linkProperties, 0, 0)
        guard dataset >= 0 else { throw HDF5Error(path: path, "cannot create dataset '\(name)'") }
        defer { H5Dclose(dataset) }
        guard body(dataset) >= 0 else { throw HDF5Error(path: path, "cannot write dataset '\(name)'") }
    }

    // MARK: Root attributes

    /// Every attribute on the root group, by name.
    public func attributes() -> [String: HDF5Attribute] {
        final class Box { var names: [String] = [] }
        let box = Box()
        let callback: H5A_operator2_t = { _, name, _, context in
            guard let name, let context else { return 0 }
            Unmanaged<Box>.fromOpaque(context).takeUnretainedValue().names.append(String(cString: name))
            return 0
        }
        var index: hsize_t = 0
        _ = H5Aiterate2(id, H5_INDEX_NAME, H5_ITER_INC, &index, callback, Unmanaged.passUnretained(box).toOpaque())
        var result: [String: HDF5Attribute] = [:]
        for name in box.names { if let value = attribute(name) { result[name] = value } }
        return result
    }

    /// One root attribute, or nil if it is absent or of a type we do not read.
    public func attribute(_ name: String) -> HDF5Attribute? {
        guard H5Aexists(id, name) > 0 else { return nil }
        let attribute = H5Aopen(id, name, 0)
        guard attribute >= 0 else { return nil }
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute)
        defer { H5Tclose(type) }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        guard H5Sget_simple_extent_npoints(space) == 1 else { return nil }
        switch H5Tget_class(type) {
        case H5T_INTEGER:
            var value: Int64 = 0
            guard H5Aread(attribute, stn_h5t_native_int64(), &value) >= 0 else { return nil }
            return .int(Int(value))
        case H5T_FLOAT:
            var value: Double = 0
            guard H5Aread(attribute, stn_h5t_native_double(), &value) >= 0 else { return nil }
            return .double(value)
        case H5T_STRING:
            if H5Tis_variable_str(type) > 0 {
                var pointer: UnsafeMutablePointer<CChar>? = nil
                guard H5Aread(attribute, type, &pointer) >= 0, let pointer else { return nil }
                defer { H5free_memory(pointer) }
                return .string(String(cString: pointer))
            }
            let size = H5Tget_size(type)
            guard size > 0, size < 1 << 20 else { return nil }
            var buffer = [UInt8](repeating: 0, count: size + 1)
            guard H5Aread(attribute, type, &buffer) >= 0 else { return nil }
            let end = buffer.firstIndex(of: 0) ?? size
            return .string(String(decoding: buffer[..<end], as: UTF8.self))
        default:
            return nil
        }
    }

    /// Writes (or replaces) a root attribute. Strings are variable-length UTF-8 so h5py
    /// reads them as `str`.
    public func setAttribute(_ name: String, _ value: HDF5Attribute) throws {
        if H5Aexists(id, name) > 0 { H5Adelete(id, name) }
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        var status: herr_t = -1
        switch value {
        case .int(let i):
            let attribute = H5Acreate2(id, name, stn_h5t_native_int64(), space, 0, 0)
            guard attribute >= 0 else { break }
            var v = Int64(i)
            status = H5Awrite(attribute, stn_h5t_native_int64(), &v)
            H5Aclose(attribute)
        case .double(let d):
            let attribute = H5Acreate2(id, name, stn_h5t_native_double(), space, 0, 0)
            guard attribute >= 0 else { break }
            var v = d
            status = H5Awrite(attribute, stn_h5t_native_double(), &v)
            H5Aclose(attribute)
        case .string(let s):
            let type = H5Tcopy(stn_h5t_c_s1())
            defer { H5Tclose(type) }
            H5Tset_size(type, Int(bitPattern: UInt(bitPattern: -1)))  // H5T_VARIABLE
            H5Tset_cset(type, H5T_CSET_UTF8)
            let attribute = H5Acreate2(id, name, type, space, 0, 0)
            guard attribute >= 0 else { break }
            status = s.withCString { cString in
                var pointer: UnsafePointer<CChar>? = cString
                return H5Awrite(attribute, type, &pointer)
            }
            H5Aclose(attribute)
        }
        guard status >= 0 else { throw HDF5Error(path: path, "cannot write attribute '\(name)'") }
    }
}
