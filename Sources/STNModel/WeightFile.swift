#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// The stn-swift weight file: HDF5, one float32 dataset per parameter named exactly as the
/// seed's PyTorch `state_dict` key with the same shape, so
/// `model.load_state_dict({k: torch.from_numpy(f[k][()]) for k in f})` loads it, and a
/// state_dict dumped the same way by h5py loads here.
///
/// Root attributes: `format` = "stn-weights", `format_version` = 2, `model` (the model's
/// name), `model_description` (its layer list, docs/model-format.md), `transform`
/// ("affine", models with a transformer), and provenance when known (recipe, epochs, seed,
/// test accuracy, created). Version 1 files (no description, `model` names a built-in model,
/// `input_size`) still load.
public struct WeightFile: Sendable {
    public static let format = "stn-weights"
    public static let formatVersion = 2

    public var weights: ModelWeights
    /// Every root attribute, the format's own and provenance.
    public var attributes: [String: HDF5Attribute]
    /// Datasets that are not parameters of the model (e.g. a checkpoint's optimiser
    /// state). Callers report them rather than ignore them silently.
    public var extraDatasets: [String]

    public init(weights: ModelWeights, attributes: [String: HDF5Attribute] = [:], extraDatasets: [String] = []) {
        self.weights = weights
        self.attributes = attributes
        self.extraDatasets = extraDatasets
    }

    public var architecture: Architecture { weights.architecture }

    // MARK: Reading

    /// Reads and validates a weight file with the built-in reader (no libhdf5): HDF5, a known model, every parameter present
    /// with its shape, float32 or float64 (converted), finite values.
    public static func read(_ path: String) throws -> WeightFile {
        try read(HDF5Reader(path: path))
    }

    /// Reads and validates a weight file held in memory (the same checks as `read(_:)`);
    /// `name` stands for the path in error messages.
    public static func read(bytes: UnsafeRawBufferPointer, name: String) throws -> WeightFile {
        try read(HDF5Reader(bytes: bytes, name: name))
    }

    /// Reads the model parameters from an open file (used by checkpoints too).
    public static func read(_ file: HDF5Reader) throws -> WeightFile {
        let contents = try WeightFileContents(file)
        var tensors: [String: [Float]] = [:]
        for spec in contents.architecture.parameters {
            tensors[spec.name] = try [Float](unsafeUninitializedCapacity: spec.count) { buffer, initialized in
                try contents.read(spec, into: buffer.baseAddress!)
                initialized = spec.count
            }
        }
        let weights: ModelWeights
        do {
            weights = try ModelWeights(architecture: contents.architecture, tensors: tensors)
        } catch {
            throw HDF5Error(path: file.path, "\(error)")
        }
        return WeightFile(weights: weights, attributes: contents.attributes, extraDatasets: contents.extraDatasets)
    }

    /// The file's model: its `model_description`, else the preset its `model` attribute names,
    /// else (a bare h5py dump of a state_dict) the preset its dataset names identify.
    static func architecture(attributes: [String: HDF5Attribute], datasets: [String], path: String) throws
        -> Architecture
    {
        if let description = attributes["model_description"] {
            guard let text = description.stringValue else {
                throw HDF5Error(path: path, "attribute 'model_description' is not a string")
            }
            do {
                return try Architecture(parsing: text)
            } catch {
                throw HDF5Error(path: path, "\(error)")
            }
        }
        if let model = attributes["model"] {
            guard let name = model.stringValue, let known = Architecture.preset(named: name) else {
                throw HDF5Error(
                    path: path,
                    "attribute 'model' is '\(model)' and there is no 'model_description'; built-in models: "
                        + Architecture.presetNames.joined(separator: ", "))
            }
            return known
        }
        return try identify(datasets: datasets, path: path)
    }

    /// A file without a `model` attribute (a bare h5py dump of a state_dict) is identified
    /// by its dataset names.
    static func identify(datasets: [String], path: String) throws -> Architecture {
        guard let known = Architecture.identify(parameterNames: Set(datasets)) else {
            throw HDF5Error(
                path: path,
                "no 'model_description' attribute and no known model's parameters (expected datasets like "
                    + "'convs.0.weight' or 'localization.0.weight'); describe the model with stn-train --architecture")
        }
        return known
    }

    // MARK: Writing

    /// The format's own attributes for an architecture.
    public static func formatAttributes(for architecture: Architecture) -> [String: HDF5Attribute] {
        var attributes: [String: HDF5Attribute] = [
            "format": .string(format),
            "format_version": .int(formatVersion),
            "model": .string(architecture.name),
            "model_description": .string(architecture.modelDescription.text),
        ]
        if let transform = architecture.transforms.first { attributes["transform"] = .string(transform.rawValue) }
        return attributes
    }
}
