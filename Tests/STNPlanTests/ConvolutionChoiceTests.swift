import STNKernelInterface
import STNKernelSelection
import STNModel
import XCTest

@testable import STNPlan

/// Which convolutions a plan runs by Winograd: the seed classifiers' 7x7 layer (36 tiles of
/// F(2x2, 7x7)) and their first layer (one input channel, 9x9: F(6x6, 3x3) over its 3x3
/// pieces), not the localisation net's (5x5 layers: one input channel, then a single 4x4
/// tile). Training plans run the same forms.
final class ConvolutionChoiceTests: XCTestCase {
    func winogradSteps(_ architecture: Architecture, training: Bool) throws -> [String] {
        let plan = try Plan(architecture, training: training)
        return plan.steps.compactMap { ($0 as? ConvolutionStep)?.winograd == nil ? nil : $0.name }
    }

    func testInferencePlansRunTheSevenBySevenLayerByWinograd() throws {
        XCTAssertEqual(try winogradSteps(.cnn, training: false), ["convs.3"])
        XCTAssertEqual(try winogradSteps(.stCNN, training: false), ["convs.3"])
        let step = try XCTUnwrap(
            try Plan(.cnn, training: false).steps.compactMap { $0 as? ConvolutionStep }.first { $0.winograd != nil })
        XCTAssertEqual(step.winograd?.transform.outputTile, 2)
        XCTAssertEqual(step.winograd.map { $0.tilesY * $0.tilesX }, 36)
    }

    /// The tile size follows the map and the weights: GTSRB's 3x3 layers take F(4x4, 3x3) on
    /// 22 x 22 and 14 x 14 (100 -> 150 channels), F(2x2, 3x3) on 11 x 11 and 7 x 7 (150 ->
    /// 250: F(4x4, 3x3)'s 5.6 MB of transformed weights would come from memory, F(6x6, 3x3)'s
    /// 10 MB more so); a narrow layer stays direct (its transforms would cost more than its
    /// products save), as does a map of fewer than 6 tiles.
    func testSmallMapsTakeSmallTiles() {
        func alpha(_ shape: Conv2DShape, _ realInC: Int) -> Int? {
            ConvolutionStep.winogradForm(shape, realInC: realInC)?.transform.alpha
        }
        XCTAssertEqual(alpha(Conv2DShape(inH: 13, inW: 13, inC: 152, outC: 250, kernel: 3), 150), 4)
        XCTAssertEqual(alpha(Conv2DShape(inH: 9, inW: 9, inC: 152, outC: 250, kernel: 3), 150), 4)
        XCTAssertEqual(alpha(Conv2DShape(inH: 24, inW: 24, inC: 104, outC: 150, kernel: 3), 100), 6)
        XCTAssertEqual(alpha(Conv2DShape(inH: 16, inW: 16, inC: 104, outC: 150, kernel: 3), 100), 6)
        XCTAssertEqual(alpha(Conv2DShape(inH: 17, inW: 17, inC: 32, outC: 32, kernel: 7), 32), 8)
        XCTAssertNil(alpha(Conv2DShape(inH: 10, inW: 10, inC: 8, outC: 8, kernel: 3), 8))
        XCTAssertNil(alpha(Conv2DShape(inH: 8, inW: 8, inC: 24, outC: 20, kernel: 5), 20))
        // Every block of tile rows but a single row keeps its scratch within the bound.
        let form = ConvolutionStep.winogradForm(
            Conv2DShape(inH: 24, inW: 24, inC: 104, outC: 150, kernel: 3), realInC: 100)
        XCTAssertLessThanOrEqual(form?.scratchFloats ?? .max, ConvolutionCost.blockScratchFloats)
    }

    func splitSteps(_ architecture: Architecture, training: Bool) throws -> [String] {
        let plan = try Plan(architecture, training: training)
        return plan.steps.compactMap { ($0 as? ConvolutionStep)?.split == nil ? nil : $0.name }
    }

    func testFirstLayersRunByWinogradOverTheirPieces() throws {
        for training in [false, true] {
            XCTAssertEqual(try splitSteps(.cnn, training: training), ["convs.0"])
            XCTAssertEqual(try splitSteps(.stCNN, training: training), ["convs.0"])
        }
        let seed = Conv2DShape(inH: 42, inW: 42, inC: 1, outC: 32, kernel: 9)
        XCTAssertEqual(ConvolutionStep.splitForm(seed)?.pieces, 3)
        // A huge frame stays direct rather than planning hundreds of megabytes of scratch.
        XCTAssertNil(ConvolutionStep.splitForm(Conv2DShape(inH: 1024, inW: 1024, inC: 1, outC: 32, kernel: 9)))
        // Kernels that are not 3s x 3s, or several input channels, are not split.
        XCTAssertNil(ConvolutionStep.splitForm(Conv2DShape(inH: 42, inW: 42, inC: 1, outC: 32, kernel: 5)))
        XCTAssertNil(ConvolutionStep.splitForm(Conv2DShape(inH: 42, inW: 42, inC: 8, outC: 32, kernel: 9)))
    }

    func testTrainingPlansRunTheSameForwardPasses() throws {
        XCTAssertEqual(try winogradSteps(.cnn, training: true), ["convs.3"])
        XCTAssertEqual(try winogradSteps(.stCNN, training: true), ["convs.3"])
        XCTAssertEqual(
            try winogradSteps(.pytorchTutorial, training: true), try winogradSteps(.pytorchTutorial, training: false))
    }
}
