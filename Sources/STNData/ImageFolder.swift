import STNSystem

/// A folder of images with one subfolder per class, as torchvision's `ImageFolder` reads
/// it: the classes are the subfolders (symbolic links followed), sorted by name as Python
/// sorts strings, class i the i-th; a class's images are the files anywhere below its
/// folder, in the order of torchvision's walk (folder paths sorted, then file names). Of
/// them, PNG and PGM files (by extension, any case) are read; other files are counted and
/// left out.
public enum ImageFolder {
    public struct Listing: Sendable {
        public var classNames: [String]
        public var images: ImageFileSet
        /// Files below the class folders that are not PNG or PGM, and one of them.
        public var ignoredCount: Int
        public var ignoredExample: String?
    }

    /// Folders nested deeper than this below a class folder are refused (a symbolic-link loop).
    static let maximumDepth = 32

    /// Lists `directory`. With `known` names (a `--classes` file, or the training data's
    /// classes for a test folder) a folder's class is its name's place in them; every folder
    /// must be one of them, and with `requireEvery` every name must have a folder.
    public static func list(
        _ directory: String, known: [String]? = nil, knownSource: String? = nil, requireEvery: Bool = true
    ) throws -> Listing {
        let names = try directoryEntries(directory).filter { fileKind(joinPath(directory, $0)) == .directory }
        guard !names.isEmpty else {
            let files = try directoryEntries(directory).filter { isImageName($0) }
            throw DataError(
                directory,
                files.isEmpty
                    ? "holds no class folders (put each class's PNG or PGM images in a folder named after the class)"
                    : "holds \(files.count) images but no class folders (put each class's images in a folder named after the class)"
            )
        }
        let folders = ClassNames.sorted(names)
        let classNames: [String]
        if let known {
            for name in folders where !known.contains(name) {
                throw DataError(
                    joinPath(directory, name),
                    "folder '\(name)' is not one of the classes of \(knownSource ?? "the data")")
            }
            if requireEvery, let missing = known.first(where: { !folders.contains($0) }) {
                throw DataError(directory, "has no folder for class '\(missing)' of \(knownSource ?? "the data")")
            }
            classNames = known
        } else {
            try ClassNames.check(folders, source: directory)
            classNames = folders
        }
        var entries: [ImageFileSet.Entry] = []
        var ignored = 0
        var ignoredExample: String?
        for name in folders {
            let label = UInt8(classNames.firstIndex(of: name)!)
            let folder = joinPath(directory, name)
            var files: [(folder: String, name: String)] = []
            var others: [String] = []
            try walk(folder, depth: 0, files: &files, others: &others)
            guard !files.isEmpty else {
                let note =
                    others.isEmpty
                    ? "" : " (\(others.count) other files, e.g. \(baseName(others[0])): convert them to PNG)"
                throw DataError(folder, "class folder holds no PNG or PGM images\(note)")
            }
            files.sort {
                $0.folder == $1.folder
                    ? $0.name.unicodeScalars.lexicographicallyPrecedes($1.name.unicodeScalars)
                    : $0.folder.unicodeScalars.lexicographicallyPrecedes($1.folder.unicodeScalars)
            }
            entries += files.map { ImageFileSet.Entry(path: joinPath($0.folder, $0.name), label: label) }
            ignored += others.count
            if ignoredExample == nil { ignoredExample = others.first }
        }
        return Listing(
            classNames: classNames, images: ImageFileSet(source: directory, entries: entries), ignoredCount: ignored,
            ignoredExample: ignoredExample)
    }

    /// Whether a file name ends in .png or .pgm, in any case.
    static func isImageName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasSuffix(".png") || lower.hasSuffix(".pgm")
    }

    /// Every file below `folder`: images into `files`, other files' paths into `others`.
    private static func walk(
        _ folder: String, depth: Int, files: inout [(folder: String, name: String)], others: inout [String]
    ) throws {
        guard depth <= maximumDepth else {
            throw DataError(folder, "folders nested more than \(maximumDepth) deep (a symbolic-link loop?)")
        }
        let names: [String]
        do {
            names = try directoryEntries(folder)
        } catch let error as FileError {
            throw DataError(folder, error.reason)
        }
        for name in names {
            let path = joinPath(folder, name)
            switch fileKind(path) {
            case .directory: try walk(path, depth: depth + 1, files: &files, others: &others)
            case .file where isImageName(name): files.append((folder, name))
            default: others.append(path)
            }
        }
    }
}
