import XCTest

@testable import STNModel
@testable import STNPlan

/// Memory is estimated before it is allocated (issue 26): a model that does not fit is one
/// line giving the estimate, not an abort ("failed to allocate") after seconds of work.
final class MemoryEstimateTests: XCTestCase {
    override func tearDown() {
        MemoryBudget.maximum = nil
        super.tearDown()
    }

    /// Inside the documented bounds: a resize to 4096 x 4096, then a linear layer of 168 M
    /// parameters.
    static let large = """
        stn-model 1 name=large
        input image 1x28x28
        resize big image size=4096x4096
        flatten flat big
        linear fc flat out=10
        log_softmax out fc
        """

    func testParsesSizes() {
        XCTAssertEqual(MemoryBudget.parseSize("4096"), 4096)
        XCTAssertEqual(MemoryBudget.parseSize("64K"), 64 << 10)
        XCTAssertEqual(MemoryBudget.parseSize("512M"), 512 << 20)
        XCTAssertEqual(MemoryBudget.parseSize("2G"), 2 << 30)
        XCTAssertEqual(MemoryBudget.parseSize("2GiB"), 2 << 30)
        XCTAssertEqual(MemoryBudget.parseSize("2gb"), 2 << 30)
        XCTAssertEqual(MemoryBudget.parseSize("1T"), 1 << 40)
        for bad in ["", "G", "-1G", "0", "1.5G", "12Q", "99999999999T"] {
            XCTAssertNil(MemoryBudget.parseSize(bad), bad)
        }
        XCTAssertThrowsError(try MemoryBudget.setMaximum(option: "lots")) {
            XCTAssertEqual("\($0)", "--max-memory 'lots' is not a size (bytes, or a number with K, M, G or T)")
        }
    }

    /// The training estimate counts the parameters seven times over and a frame per thread,
    /// each with an accumulator per parameter; it is refused against --max-memory in one line.
    func testTrainingEstimateIsRefusedBeyondTheMaximum() throws {
        let architecture = try Architecture(parsing: Self.large)
        let parameters = architecture.parameterCount
        XCTAssertGreaterThan(parameters, 160_000_000)
        let estimate = MemoryBudget.trainingBytes(architecture, threads: 2)
        XCTAssertGreaterThanOrEqual(estimate, (7 + 2) * parameters * 4)
        try MemoryBudget.setMaximum(option: "1G")
        XCTAssertThrowsError(try MemoryBudget.check(estimate, name: "large.txt")) {
            let message = "\($0)"
            XCTAssertTrue(message.hasPrefix("large.txt: the model needs about "), message)
            XCTAssertTrue(message.hasSuffix(" GB; 1.1 GB is available (--max-memory)"), message)
        }
        // Nothing is refused within the maximum.
        try MemoryBudget.check(1 << 29, name: "small.txt")
    }

    /// An inference plan compares its arena with the budget before mapping it.
    func testInferencePlanRefusesAnArenaBeyondTheMaximum() throws {
        let architecture = Architecture.preset(named: "st-cnn")!
        let plan = try Plan(architecture, training: false)
        try MemoryBudget.setMaximum(option: "\(plan.arenaBytes - 1)")
        XCTAssertThrowsError(try Plan(architecture, training: false)) {
            XCTAssertTrue("\($0)".hasPrefix("the model needs about 1."), "\($0)")
            XCTAssertTrue("\($0)".hasSuffix("is available (--max-memory)"), "\($0)")
        }
        try MemoryBudget.setMaximum(option: "\(plan.arenaBytes)")
        XCTAssertEqual(try Plan(architecture, training: false).arenaBytes, plan.arenaBytes)
    }

    /// Without --max-memory the machine's available memory bounds it.
    func testAvailableMemoryIsReadFromTheSystem() throws {
        #if os(Linux)
            let available = try XCTUnwrap(MemoryBudget.available())
            XCTAssertGreaterThan(available.bytes, 0)
            XCTAssertTrue(["MemAvailable", "RLIMIT_AS"].contains(available.source), available.source)
            XCTAssertThrowsError(try MemoryBudget.check(Int.max / 2)) {
                XCTAssertTrue("\($0)".contains("is available (\(available.source))"), "\($0)")
            }
        #endif
    }
}
