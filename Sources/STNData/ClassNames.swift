import STNSystem

/// The names of a data set's classes: class i is the i-th name. From an image folder's class
/// folders (sorted as torchvision sorts them), a CSV's named labels, or a file of one name a
/// line (`--classes`).
public enum ClassNames {
    /// Labels are bytes: at most this many classes.
    public static let maximumCount = 256

    /// Python's `sorted()` order, which torchvision's ImageFolder gives its classes: by
    /// Unicode code point, name by name.
    public static func sorted(_ names: [String]) -> [String] {
        names.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    /// Reads a file of class names, one a line (white space around a name trimmed, blank
    /// lines skipped), and checks them.
    public static func read(_ path: String) throws -> [String] {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path, limit: 1 << 24)
        } catch let error as FileError {
            throw DataError(path, "cannot read the class names: \(error.reason)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DataError(path, "the class names are not UTF-8 text")
        }
        let names = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map {
            String($0.trimmingSpaces)
        }.filter { !$0.isEmpty }
        try check(names, source: path)
        return names
    }

    /// Refuses no names, too many, a repeated one, or one a weight file could not keep (a
    /// line break inside it).
    public static func check(_ names: [String], source: String) throws {
        guard !names.isEmpty else { throw DataError(source, "names no classes") }
        guard names.count <= maximumCount else {
            throw DataError(source, "names \(names.count) classes; at most \(maximumCount) are supported")
        }
        var seen = Set<String>()
        for name in names {
            guard !name.contains(where: \.isNewline) else {
                throw DataError(source, "class name '\(name.debugDescription.dropFirst().dropLast())' has a line break")
            }
            guard seen.insert(name).inserted else { throw DataError(source, "class '\(name)' is named twice") }
        }
    }

    /// The names joined for a weight file's `class_names` attribute: one a line.
    public static func attribute(_ names: [String]) -> String { names.joined(separator: "\n") }

    /// The names of a `class_names` attribute.
    public static func parse(attribute text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// "cat, dog, fox" (the first few, then "and N more").
    public static func summary(_ names: [String], limit: Int = 8) -> String {
        let shown = names.prefix(limit).joined(separator: ", ")
        return names.count > limit ? shown + " and \(names.count - limit) more" : shown
    }
}

extension Substring {
    /// Without leading and trailing white space.
    var trimmingSpaces: Substring {
        var s = self
        while let first = s.first, first.isWhitespace { s = s.dropFirst() }
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return s
    }
}
