/// A scan of the command lines a tool is run with most often, for starting without
/// swift-argument-parser: its first parse builds the command's argument sets through runtime
/// metadata, about a third of a one-image `stn-infer` run (docs/building.md, "Start-up").
///
/// The scan accepts only a strict subset of what the full parser accepts: positional values
/// (not starting with `-`, or exactly `-`), and the options it is told about, each at most
/// once, as `--name value` (a value not starting with `-`) or as a flag. Anything else (an
/// unknown or repeated option, `--name=value`, `--`, `--help`, a missing value) gives nil, and
/// the tool then parses with swift-argument-parser as always, which also reports every error.
/// (Plain arrays, not dictionaries: a dictionary's first use looks up its key's Hashable
/// conformance at run time, the very cost this avoids.)
public struct CommonArguments: Equatable, Sendable {
    /// An option the scan knows: `--name value`, or `--name` alone (a flag).
    public struct Option: Equatable, Sendable {
        public var name: String
        public var takesValue: Bool

        public static func value(_ name: String) -> Option { Option(name: name, takesValue: true) }
        public static func flag(_ name: String) -> Option { Option(name: name, takesValue: false) }
    }

    /// The options the scan knows.
    public let known: [Option]
    /// The positional values, in order.
    public private(set) var positionals: [String] = []
    /// Each known option's value, in `known`'s order: nil when absent, "" for a flag given.
    public private(set) var values: [String?]

    /// Scans `arguments` (without the program name); nil when the full parser is needed.
    public init?(_ arguments: some Collection<String>, options known: [Option]) {
        self.known = known
        values = Array(repeating: nil, count: known.count)
        var iterator = arguments.makeIterator()
        while let token = iterator.next() {
            guard token.hasPrefix("-"), token != "-" else {
                positionals.append(token)
                continue
            }
            guard token.hasPrefix("--"), let index = known.firstIndex(where: { "--" + $0.name == token }),
                values[index] == nil
            else { return nil }
            if known[index].takesValue {
                guard let value = iterator.next(), !value.hasPrefix("-") else { return nil }
                values[index] = value
            } else {
                values[index] = ""
            }
        }
    }

    /// The value given for `--name` ("" for a flag), or nil.
    public func value(_ name: String) -> String? {
        known.firstIndex { $0.name == name }.flatMap { values[$0] }
    }
}
