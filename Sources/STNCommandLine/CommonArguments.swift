/// A scan of the command lines a tool is run with most often, for starting without
/// swift-argument-parser: its first parse builds the command's argument sets through runtime
/// metadata, about a third of a one-image `stn-infer` run (docs/building.md, "Start-up").
///
/// The scan accepts only a strict subset of what the full parser accepts: positional values
/// (not starting with `-`, or exactly `-`), and the options it is told about, each at most
/// once, as `--name value` (a value not starting with `-`) or as a flag. Anything else (an
/// unknown or repeated option, `--name=value`, `--`, `--help`, a missing value) gives nil, and
/// the tool then parses with swift-argument-parser as always, which also reports every error.
public struct CommonArguments: Equatable, Sendable {
    public enum Kind: Sendable {
        /// `--name value`.
        case value
        /// `--name` alone.
        case flag
    }

    /// The positional values, in order.
    public var positionals: [String] = []
    /// Each option given, by its long name without the dashes; flags map to "".
    public var options: [String: String] = [:]

    public init(positionals: [String] = [], options: [String: String] = [:]) {
        self.positionals = positionals
        self.options = options
    }

    /// Scans `arguments` (without the program name); nil when the full parser is needed.
    public init?(_ arguments: some Collection<String>, options known: [String: Kind]) {
        var iterator = arguments.makeIterator()
        while let token = iterator.next() {
            guard token.hasPrefix("-"), token != "-" else {
                positionals.append(token)
                continue
            }
            guard token.hasPrefix("--") else { return nil }
            let name = String(token.dropFirst(2))
            guard let kind = known[name], options[name] == nil else { return nil }
            switch kind {
            case .flag:
                options[name] = ""
            case .value:
                guard let value = iterator.next(), !value.hasPrefix("-") else { return nil }
                options[name] = value
            }
        }
    }

}
