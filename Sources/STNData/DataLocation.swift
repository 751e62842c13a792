import STNSystem

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Where a user's labelled images are (stn-train's `--train DATA` and `--test DATA`):
///
/// - `IMAGES,LABELS`: an IDX pair (images N x H x W or N x H x W x C, 8-bit or float32,
///   labels N; raw or gzip);
/// - a folder holding an IDX pair: files named `[PREFIX]images-*` and `[PREFIX]labels-*`
///   (`train-images-idx3-ubyte.gz`, `images-idx3-ubyte`); with several pairs the one whose
///   prefix starts with `train` serves `--train`, `t10k` or `test` serves `--test`;
/// - a folder of class folders (torchvision's ImageFolder, see `ImageFolder`);
/// - a CSV file of `path,label` lines (see `LabelCSV`).
public enum DataLocation {
    public enum Kind: Sendable, Equatable {
        case idx(images: String, labels: String)
        case folder(String)
        case csv(String)

        /// "IDX pair", "image folder" or "CSV list".
        public var name: String {
            switch self {
            case .idx: return "IDX pair"
            case .folder: return "image folder"
            case .csv: return "CSV list"
            }
        }
    }

    /// What is opened: the images and, when known, their class names.
    public struct Opened: Sendable {
        public var kind: Kind
        public var images: any LabelledImages
        public var classNames: [String]?
        /// Files of an image folder that are not PNG or PGM (left out), and one of them.
        public var ignoredCount = 0
        public var ignoredExample: String?
    }

    /// What `argument` names, for the role of `--train` (else `--test`).
    public static func kind(of argument: String, training: Bool) throws -> Kind {
        let (status, code) = fileStatus(argument)
        switch status {
        case .directory:
            if let pair = try idxPair(in: argument, training: training) { return .idx(images: pair.0, labels: pair.1) }
            return .folder(argument)
        case .file, .other:
            let start = (try? peek(argument)) ?? []
            if start.starts(with: [0, 0]) || start.starts(with: [0x1F, 0x8B]) {
                throw DataError(argument, "an IDX file needs its labels: give IMAGES,LABELS")
            }
            return .csv(argument)
        case .missing:
            let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
            if parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty {
                return .idx(images: String(parts[0]), labels: String(parts[1]))
            }
            throw DataError(
                argument,
                meansAbsent(code)
                    ? "no such file or folder (give an image folder, a CSV list or IMAGES,LABELS)" : errorText(code))
        }
    }

    /// Opens `argument`. `known` class names (a `--classes` file, or the training data's
    /// for the test data) name the classes; `knownSource` names where they come from.
    public static func open(
        _ argument: String, training: Bool, known: [String]? = nil, knownSource: String? = nil
    ) throws -> Opened {
        let kind = try kind(of: argument, training: training)
        switch kind {
        case .idx(let images, let labels):
            let set = try IDXImageSet(images: images, labels: labels)
            if let known { try set.checkLabels(classes: known.count) }
            return Opened(kind: kind, images: set, classNames: known)
        case .folder(let directory):
            let listing = try ImageFolder.list(
                directory, known: known, knownSource: knownSource, requireEvery: training)
            return Opened(
                kind: kind, images: listing.images, classNames: listing.classNames,
                ignoredCount: listing.ignoredCount, ignoredExample: listing.ignoredExample)
        case .csv(let path):
            let listing = try LabelCSV.read(path, known: known, knownSource: knownSource)
            return Opened(kind: kind, images: listing.images, classNames: listing.classNames)
        }
    }

    /// The IDX pair in `directory`, or nil when it holds none.
    static func idxPair(in directory: String, training: Bool) throws -> (String, String)? {
        let names: [String]
        do {
            names = try directoryEntries(directory)
        } catch let error as FileError {
            throw DataError(directory, error.reason)
        }
        // prefix -> images file name, from "PREFIXimages-..." with PREFIX empty or ending in '-'.
        func prefix(_ name: String, _ word: String) -> String? {
            let bytes = Array(name.utf8)
            let pattern = Array((word + "-").utf8)
            guard bytes.count >= pattern.count else { return nil }
            for start in 0 ... bytes.count - pattern.count
            where Array(bytes[start ..< start + pattern.count]) == pattern {
                if start == 0 || bytes[start - 1] == UInt8(ascii: "-") {
                    return String(decoding: bytes[..<start], as: UTF8.self)
                }
            }
            return nil
        }
        var images: [String: String] = [:]
        var labels: [String: String] = [:]
        for name in ClassNames.sorted(names) where fileKind(joinPath(directory, name)) == .file {
            if let p = prefix(name, "images"), images[p] == nil { images[p] = name }
            if let p = prefix(name, "labels"), labels[p] == nil { labels[p] = name }
        }
        let pairs = ClassNames.sorted(images.keys.filter { labels[$0] != nil })
        if pairs.isEmpty {
            if let lone = images.values.sorted().first {
                throw DataError(
                    directory, "holds IDX images (\(lone)) but no labels file beside them (PREFIXlabels-...)")
            }
            return nil
        }
        var chosen = pairs
        if pairs.count > 1 {
            let wanted = training ? ["train"] : ["t10k", "test"]
            chosen = pairs.filter { p in wanted.contains { p.lowercased().hasPrefix($0) } }
        }
        guard chosen.count == 1 else {
            throw DataError(
                directory,
                "holds \(pairs.count) IDX pairs (\(pairs.map { images[$0]! }.joined(separator: ", "))); name one as IMAGES,LABELS"
            )
        }
        let p = chosen[0]
        return (joinPath(directory, images[p]!), joinPath(directory, labels[p]!))
    }

    /// The first bytes of a file (to tell IDX from a CSV list).
    static func peek(_ path: String) throws -> [UInt8] {
        let file = try openFile(path)
        defer { close(file.descriptor) }
        var bytes = [UInt8](repeating: 0, count: 4)
        let n = bytes.withUnsafeMutableBytes { read(file.descriptor, $0.baseAddress, 4) }
        return Array(bytes.prefix(max(0, n)))
    }
}
