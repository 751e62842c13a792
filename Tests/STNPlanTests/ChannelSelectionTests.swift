import STNData
import STNEngine
import STNModel
import XCTest

@testable import STNPlan

/// `select ... channels=`: whole channels of maps picked and joined (its gradient is checked
/// in EveryLayerGradientTests).
final class ChannelSelectionTests: XCTestCase {
    /// The engine's answer is the input's channels in the order asked, from a map with padded
    /// channels (a convolution's, 8 lanes a pixel) and from the frame (3 lanes).
    func testForwardPicksTheChannelsAskedForFromPaddedAndUnpaddedMaps() throws {
        let architecture = try Architecture(
            parsing: """
                stn-model 1 name=channels
                input x 3x4x5
                conv a x out=3 kernel=1 bias=0
                select s a,x channels=0:2,1:0,0:0-1,1:1
                """)
        XCTAssertEqual(architecture.outputShape, TensorShape(channels: 5, height: 4, width: 5))
        // The convolution is the identity: a is x, stored 8 lanes a pixel.
        var weights = ModelWeights.zeros(architecture)
        try weights.set("a.weight", [1, 0, 0, 0, 1, 0, 0, 0, 1])
        let engine = try Engine(weights: weights, threads: 1)
        var random = PRNG(seed: 2)
        let input = (0 ..< 60).map { _ in random.nextUnitFloat() }  // NCHW
        let output = input.withUnsafeBufferPointer { Array(engine.infer(tensor: $0.baseAddress!)) }
        let pixels = 20
        func channel(_ c: Int) -> ArraySlice<Float> { input[c * pixels ..< (c + 1) * pixels] }
        XCTAssertEqual(output, Array([channel(2), channel(0), channel(0), channel(1), channel(1)].joined()))
    }

    func testTextRoundTripsAndTheSummaryNamesTheChannels() throws {
        let text = """
            stn-model 1 name=t
            input x 2x6x6
            conv a x out=4 kernel=3
            conv b x out=2 kernel=3
            select c a,b channels=1:1,0:0-2
            flatten f c
            linear o f out=3
            """
        let architecture = try Architecture(parsing: text)
        let written = architecture.modelDescription.text
        XCTAssertTrue(written.contains("select c a,b channels=1:1,0:0-2\n"), written)
        XCTAssertEqual(try Architecture(parsing: written), architecture)
        XCTAssertTrue(architecture.summary().contains("Select (4 channels)"), architecture.summary())
        XCTAssertEqual(architecture.layer("c")?.outputShape, TensorShape(channels: 4, height: 4, width: 4))
    }

    func testBadSelectionsAreRefusedInOneLine() {
        func refusal(_ layers: String) -> String {
            let text = "stn-model 1\ninput x 2x6x6\nconv a x out=3 kernel=3\nconv b x out=2 kernel=1\n" + layers
            do {
                _ = try Plan(try Architecture(parsing: text), training: true)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(
            refusal("select s a,b channels=0:0,1:0"),
            "layer 's': select channels= of maps of different sizes: 'a' is 3x4x4, 'b' is 2x6x6")
        XCTAssertEqual(
            refusal("select s a channels=0:3"), "layer 's': select reads channel 3 of input 0, which is not there")
        XCTAssertEqual(
            refusal("select s a channels=1:0"), "layer 's': select reads channel 0 of input 1, which is not there")
        XCTAssertEqual(
            refusal("select s a,a channels=0:0,1:0"), "layer 's': select reads a tensor twice: name each input once")
        XCTAssertEqual(
            refusal("flatten f a\nselect s f channels=0:0"),
            "layer 's': select channels= of the vector 'f': it picks channels of maps (elements= picks a vector's)")
        XCTAssertEqual(
            refusal("select s a channels=0:0 elements=0:0"),
            "model description line 5: select takes elements= (of vectors) or channels= (of maps), not both")
        XCTAssertEqual(
            refusal("select s a channels=0:x"),
            "model description line 5: channels: '0:x' is not INPUT:INDEX or INPUT:FIRST-LAST")
    }
}
