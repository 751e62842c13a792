import ArgumentParser

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Runs a command-line tool so that every failure is one line on standard error,
/// `tool: error: message`, with a non-zero exit: bad flags (ArgumentParser would also print
/// the usage block), and any error `run()` throws (each names the file and the problem).
/// `--help` prints the help text and exits 0. Standard output is flushed before the exit: a
/// write that failed (a full disk, /dev/full) is a failure too, "stdout: REASON". `prepare` runs after parsing, before `run()`
/// (the tools choose their kernels' ISA there, so a bad STN_ISA fails the same way).
public func runTool<Command: ParsableCommand>(
    _ command: Command.Type, name: String, prepare: () throws -> Void = {}
) -> Never {
    do {
        var parsed = try command.parseAsRoot()
        try prepare()
        try parsed.run()
        try flushStandardOutput()
        exit(0)
    } catch let code as ExitCode {
        exit(code.rawValue)
    } catch {
        let exitCode = command.exitCode(for: error)
        if exitCode == .success {
            // --help, --version: not failures.
            do {
                try writeStandardOutputLine(command.fullMessage(for: error))
                try flushStandardOutput()
            } catch {
                writeStandardError("\(name): error: \(error)\n")
                exit(1)
            }
            exit(0)
        }
        let message = command.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        writeStandardError("\(name): error: \(message)\n")
        exit(exitCode.rawValue)
    }
}
