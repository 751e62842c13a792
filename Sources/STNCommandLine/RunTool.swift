import ArgumentParser

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Runs a command-line tool so that every failure is one line on standard error,
/// `tool: error: message`, with a non-zero exit: bad flags (ArgumentParser would also print
/// the usage block), and any error `run()` throws (each names the file and the problem).
/// `--help` prints the help text and exits 0.
public func runTool<Command: ParsableCommand>(_ command: Command.Type, name: String) -> Never {
    do {
        var parsed = try command.parseAsRoot()
        try parsed.run()
        exit(0)
    } catch let code as ExitCode {
        exit(code.rawValue)
    } catch {
        let exitCode = command.exitCode(for: error)
        if exitCode == .success {
            // --help, --version: not failures.
            print(command.fullMessage(for: error))
            exit(0)
        }
        let message = command.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        writeStandardError("\(name): error: \(message)\n")
        exit(exitCode.rawValue)
    }
}
