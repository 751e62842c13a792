/// An open weight file whose model is known and whose format checks have passed, before
/// its parameters are read: `read(_:into:)` checks and copies one parameter wherever the
/// caller wants it. `WeightFile.read` reads them all into `ModelWeights`; the engine reads
/// them straight into memory it has mapped already, so loading a model for one frame copies
/// each parameter once and allocates nothing per parameter.
public struct WeightFileContents {
    public let file: HDF5Reader
    public let architecture: Architecture
    /// Every root attribute, the format's own and provenance.
    public let attributes: [String: HDF5Attribute]
    /// Datasets that are not parameters of the model (see `WeightFile.extraDatasets`).
    public let extraDatasets: [String]

    /// Opens and checks `path` (see `WeightFile.read(_:)`).
    public init(path: String) throws {
        try self.init(HDF5Reader(path: path))
    }

    /// Checks the file's format attributes and finds its model.
    public init(_ file: HDF5Reader) throws {
        let path = file.path
        let attributes = file.attributes()
        let datasets = file.datasetPaths()
        if let format = attributes["format"], format.stringValue != WeightFile.format {
            throw HDF5Error(path: path, "attribute 'format' is '\(format)', expected '\(WeightFile.format)'")
        }
        if let version = attributes["format_version"],
            !(1 ... WeightFile.formatVersion).contains(version.intValue ?? -1)
        {
            throw HDF5Error(
                path: path,
                "attribute 'format_version' is \(version), this build reads versions 1 to \(WeightFile.formatVersion)")
        }
        let architecture = try WeightFile.architecture(attributes: attributes, datasets: datasets, path: path)
        if let size = attributes["input_size"],
            size.intValue != architecture.inputShape.height || size.intValue != architecture.inputShape.width
        {
            throw HDF5Error(
                path: path,
                "attribute 'input_size' is \(size), the \(architecture.name) model takes \(architecture.inputShape) frames"
            )
        }
        let expected = Set(architecture.parameters.map(\.name))
        self.file = file
        self.architecture = architecture
        self.attributes = attributes
        extraDatasets = datasets.filter { !expected.contains($0) }
    }

    /// Checks one parameter's dataset (present, float32 or float64, the parameter's shape,
    /// finite values) and copies its `spec.count` values to `target`.
    public func read(_ spec: ParameterSpec, into target: UnsafeMutablePointer<Float>) throws {
        let path = file.path
        guard file.hasDataset(spec.name) else {
            throw HDF5Error(path: path, "missing dataset '\(spec.name)' (\(architecture.name) model)")
        }
        let type = try file.storedType(of: spec.name)
        guard type.kind == "float", type.bytes == 4 || type.bytes == 8 else {
            throw HDF5Error(
                path: path, "dataset '\(spec.name)' is \(type.kind)\(type.bytes * 8), expected float32 or float64")
        }
        let shape = try file.shape(of: spec.name)
        guard shape == spec.shape else {
            throw HDF5Error(path: path, "dataset '\(spec.name)' has shape \(shape), expected \(spec.shape)")
        }
        try file.readFloats(spec.name, into: target, capacity: spec.count)
        let values = UnsafeBufferPointer(start: target, count: spec.count)
        if let bad = values.firstNonFinite() {
            throw HDF5Error(
                path: path, "dataset '\(spec.name)' has a non-finite value (\(values[bad])) at index \(bad)")
        }
    }

    /// Every parameter, checked, in `layout` order into `flat` (`layout.total` values).
    public func readParameters(_ layout: ParameterLayout, into flat: UnsafeMutablePointer<Float>) throws {
        for (spec, offset) in zip(architecture.parameters, layout.offsets) { try read(spec, into: flat + offset) }
    }
}
