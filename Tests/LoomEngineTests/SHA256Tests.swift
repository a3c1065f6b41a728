import LoomValues
import Testing

@testable import LoomEngine

@Suite("SHA256")
struct SHA256Tests {
    // FIPS 180-4 / NIST CSRC example vectors.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
    ])
    func nistVectors(message: String, expected: String) {
        #expect(SHA256.hash(message).hexString == expected)
        #expect(SHA256.hash(Array(message.utf8)).hexString == expected)
    }

    @Test func oneMillionA() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000)).hexString == expected)

        // Same, fed incrementally in 1000-byte pieces.
        var h = SHA256()
        let piece = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { h.update(piece) }
        #expect(h.finalize().hexString == expected)
    }

    @Test func digestIs32Bytes() {
        #expect(SHA256.hash("x").count == 32)
        #expect(SHA256.hash("x").hexString.count == 64)
    }

    @Test(arguments: [[1], [63], [64], [65], [1, 63, 64, 65], [65, 64, 63, 1], [7, 130, 1, 200]])
    func incrementalEqualsOneShot(chunkSizes: [Int]) {
        // Lengths around the padding boundaries (55/56/64) and multi-block.
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let oneShot = SHA256.hash(message)
            var h = SHA256()
            var offset = 0
            var i = 0
            while offset < length {
                let n = min(chunkSizes[i % chunkSizes.count], length - offset)
                h.update(Array(message[offset..<offset + n]))
                offset += n
                i += 1
            }
            #expect(h.finalize() == oneShot, "length \(length), chunks \(chunkSizes)")
        }
    }

    @Test func updateOverloadsAgree() {
        let text = "héllo, wörld — 🧵 loom"
        var a = SHA256()
        a.update(text)
        var b = SHA256()
        Array(text.utf8).withUnsafeBytes { b.update($0) }
        var c = SHA256()
        c.update(Array(text.utf8))
        let da = a.finalize(), db = b.finalize(), dc = c.finalize()
        #expect(da == db)
        #expect(db == dc)
        #expect(da == SHA256.hash(text))
    }

    @Test func hexString() {
        #expect([UInt8]().hexString == "")
        #expect([0x00, 0x0f, 0xa0, 0xff].hexString == "000fa0ff")
    }
}
