/// Types shared by the built-in HDF5 reader (STNModel) and the libhdf5 bindings
/// (STNLibHDF5).

/// A failure reading or writing an HDF5 file. The description is one line that names
/// the file and, where there is one, the dataset or attribute.
public struct HDF5Error: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let message: String
    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// A value stored as an HDF5 attribute.
public enum HDF5Attribute: Equatable, Sendable, CustomStringConvertible {
    case string(String)
    case int(Int)
    case double(Double)

    public var description: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        }
    }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d): return Int(exactly: d)
        case .string(let s): return Int(s)
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string(let s): return Double(s)
        }
    }
}

/// A dataset read from a file: its shape and its values converted to the requested type.
public struct HDF5Dataset<Element: Sendable>: Sendable {
    public var shape: [Int]
    public var values: [Element]
    public init(shape: [Int], values: [Element]) {
        self.shape = shape
        self.values = values
    }
}
