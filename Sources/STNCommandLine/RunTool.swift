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
    // `TOOL --help` alone: the parser's own help generator, without its parse. The parse of
    // a help request builds the help text twice (once to choose the exit code, once to print
    // it) after a completion-script check: 43 % of the process's instructions
    // (stn-infer: 18.5 M instructions under callgrind before, 10.6 M now). The text is the
    // same (ToolTests compares it with the parse's answer to `--help` among other flags).
    let arguments = CommandLine.arguments.dropFirst()
    if arguments.count == 1, arguments.first == "--help" || arguments.first == "-h" {
        do {
            try writeStandardOutputLine(command.helpMessage())
            try flushStandardOutput()
            exit(0)
        } catch {
            writeStandardError("\(name): error: \(error)\n")
            exit(1)
        }
    }
    do {
        var parsed = try command.parseAsRoot()
        try prepare()
        try parsed.run()
        try flushStandardOutput()
        exit(0)
    } catch {
        fail(command, name: name, error)
    }
}

/// Runs `body` for a command line that `CommonArguments` scanned, without
/// swift-argument-parser's parse, reporting success and failure exactly as `runTool` does.
public func runScanned<Command: ParsableCommand>(_ command: Command.Type, name: String, _ body: () throws -> Void)
    -> Never
{
    do {
        try body()
        try flushStandardOutput()
        exit(0)
    } catch {
        fail(command, name: name, error)
    }
}

/// One line on standard error and the command's exit code for `error` (0 and the message on
/// standard output for --help and --version).
private func fail<Command: ParsableCommand>(_ command: Command.Type, name: String, _ error: any Error) -> Never {
    if let code = error as? ExitCode { exit(code.rawValue) }
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
