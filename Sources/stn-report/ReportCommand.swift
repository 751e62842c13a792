import ArgumentParser
import STNCommandLine
import STNKernelSelection

@main
struct ReportCommand: ParsableCommand {
    static func main() { runTool(ReportCommand.self, name: "stn-report", prepare: { try ISA.selectFromEnvironment() }) }

    static let configuration = CommandConfiguration(
        commandName: "stn-report",
        abstract: "Figures about trained models.",
        subcommands: [Invariance.self, TransformerReport.self, Table1Report.self])
}
