/// A complete set of parameters for one architecture, each in its PyTorch layout
/// (row-major, `state_dict` shapes). Trainer and engine repack from here.
public struct ModelWeights: Sendable, Equatable {
    public let architecture: Architecture
    /// Values by `state_dict` key; every parameter of the architecture is present with
    /// exactly `spec.count` finite values.
    public private(set) var tensors: [String: [Float]]

    /// Checks that `tensors` holds every parameter with the right count and finite values.
    public init(architecture: Architecture, tensors: [String: [Float]]) throws {
        for spec in architecture.parameters {
            guard let values = tensors[spec.name] else { throw ModelError.missingParameter(spec.name) }
            guard values.count == spec.count else {
                throw ModelError.wrongCount(spec.name, expected: spec.count, found: values.count)
            }
            if let bad = values.firstNonFinite() {
                throw ModelError.notFinite(spec.name, index: bad)
            }
        }
        let extra = Set(tensors.keys).subtracting(architecture.parameters.map(\.name))
        if let name = extra.sorted().first { throw ModelError.unknownParameter(name) }
        self.architecture = architecture
        self.tensors = tensors
    }

    /// All-zero parameters (a starting point for initialisers and tests).
    public static func zeros(_ architecture: Architecture) -> ModelWeights {
        var tensors: [String: [Float]] = [:]
        for spec in architecture.parameters { tensors[spec.name] = [Float](repeating: 0, count: spec.count) }
        // Cannot fail: every tensor is present, sized and finite.
        return try! ModelWeights(architecture: architecture, tensors: tensors)
    }

    public subscript(name: String) -> [Float] {
        tensors[name] ?? []
    }

    /// Replaces one parameter; the new values must have the parameter's count.
    public mutating func set(_ name: String, _ values: [Float]) throws {
        guard let spec = architecture.parameter(name) else { throw ModelError.unknownParameter(name) }
        guard values.count == spec.count else {
            throw ModelError.wrongCount(name, expected: spec.count, found: values.count)
        }
        tensors[name] = values
    }
}

/// Why a set of weights does not fit an architecture.
public enum ModelError: Error, Equatable, CustomStringConvertible, Sendable {
    case missingParameter(String)
    case unknownParameter(String)
    case wrongCount(String, expected: Int, found: Int)
    case notFinite(String, index: Int)

    public var description: String {
        switch self {
        case .missingParameter(let n): return "missing parameter '\(n)'"
        case .unknownParameter(let n): return "unknown parameter '\(n)'"
        case .wrongCount(let n, let e, let f): return "parameter '\(n)' has \(f) values, expected \(e)"
        case .notFinite(let n, let i): return "parameter '\(n)' has a non-finite value at index \(i)"
        }
    }
}
