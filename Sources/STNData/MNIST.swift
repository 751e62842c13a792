#if canImport(Glibc)
    import STNSystem
    import Glibc
#else
    import Darwin
#endif

/// One MNIST split: 28x28 digits and their labels.
public struct MNISTSplit: Sendable {
    public enum Kind: String, Sendable {
        case train, test
        /// File-name prefix of the split.
        var prefix: String { self == .train ? "train" : "t10k" }
    }
    public var images: IDXImages
    public var labels: [UInt8]
}

/// Why MNIST could not be found: says how to point the tools at it.
public struct MNISTLocationError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Loads MNIST from a directory holding the four standard files
/// (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-...`).
public enum MNIST {
    /// The environment variable naming the MNIST directory.
    public static let environmentVariable = "STN_DATA"
    public static let defaultDirectory = "./Data/mnist"

    /// `--data DIR` if given, else `$STN_DATA`, else `./Data/mnist`; the directory must exist.
    public static func resolveDirectory(_ flag: String?) throws -> String {
        let environment = environmentValue(environmentVariable)
        let (directory, source) =
            flag.map { ($0, "--data") } ?? environment.map { ($0, "$\(environmentVariable)") } ?? (
                defaultDirectory, "the default"
            )
        let (kind, code) = fileStatus(directory)
        if kind == .missing && !meansAbsent(code) {
            // A symbolic-link loop, no permission, a name too long: not a missing directory.
            throw MNISTLocationError(
                description: "\(directory): MNIST directory (from \(source)): \(errorText(code))")
        }
        guard kind == .directory else {
            throw MNISTLocationError(
                description:
                    "\(directory): MNIST directory (from \(source)) does not exist; pass --data DIR or set \(environmentVariable) to a directory holding the four MNIST *-ubyte[.gz] files"
            )
        }
        return directory
    }

    /// The path of one of the standard files, raw or gzip, or an error naming what is missing.
    public static func file(_ name: String, in directory: String) throws -> String {
        for candidate in [name, name + ".gz"] {
            let path = directory.hasSuffix("/") ? directory + candidate : directory + "/" + candidate
            // Present, or there but unreadable for another reason than absence (its reader names it).
            let (kind, code) = fileStatus(path)
            if kind != .missing || !meansAbsent(code) { return path }
        }
        throw MNISTLocationError(
            description:
                "\(directory): no \(name) or \(name).gz in the MNIST directory; pass --data DIR or set \(environmentVariable)"
        )
    }

    public static func load(split: MNISTSplit.Kind, directory: String) throws -> MNISTSplit {
        let imagesPath = try file("\(split.prefix)-images-idx3-ubyte", in: directory)
        let labelsPath = try file("\(split.prefix)-labels-idx1-ubyte", in: directory)
        let images = try IDX.readImages(at: imagesPath)
        let labels = try IDX.readLabels(at: labelsPath)
        guard images.rows == 28, images.columns == 28 else {
            throw IDXError(imagesPath, .wrongImageSize(rows: images.rows, columns: images.columns, expected: "28x28"))
        }
        guard images.count == labels.count else {
            throw IDXError(labelsPath, .countMismatch(images: images.count, labels: labels.count))
        }
        if let bad = labels.firstIndex(where: { $0 > 9 }) {
            throw IDXError(labelsPath, .badLabel(index: bad, value: labels[bad]))
        }
        return MNISTSplit(images: images, labels: labels)
    }
}
