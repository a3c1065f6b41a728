import LoomValues
import Testing

@testable import LoomEngine

@Suite("JSONValue")
struct JSONValueTests {

    // MARK: helpers

    private func parse(_ text: String, limits: JSONLimits = .default) -> JSONValue? {
        try? JSONValue.parse(text, limits: limits)
    }

    private func expectRejected(
        _ text: String,
        _ code: JSONError.Code,
        at offset: Int? = nil,
        limits: JSONLimits = .default,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        expectRejected(bytes: Array(text.utf8), code, at: offset, limits: limits, sourceLocation: sourceLocation)
        // The String entry point must agree with the bytes entry point.
        do {
            let v = try JSONValue.parse(text, limits: limits)
            Issue.record("expected \(code) for \(text.debugDescription), parsed \(v)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(text.debugDescription): \(error)", sourceLocation: sourceLocation)
        }
    }

    private func expectRejected(
        bytes: [UInt8],
        _ code: JSONError.Code,
        at offset: Int? = nil,
        limits: JSONLimits = .default,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let v = try JSONValue.parse(bytes: bytes, limits: limits)
            Issue.record("expected \(code) for bytes \(bytes), parsed \(v)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "bytes \(bytes): \(error)", sourceLocation: sourceLocation)
            if let offset {
                #expect(error.offset == offset, "bytes \(bytes): \(error)", sourceLocation: sourceLocation)
            }
        }
    }

    private func nested(_ depth: Int, open: String = "[", close: String = "]") -> String {
        String(repeating: open, count: depth) + String(repeating: close, count: depth)
    }

    private func nestedObjects(_ depth: Int) -> String {
        String(repeating: "{\"k\":", count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)
    }

    // MARK: parsing

    @Test func parsesScalars() {
        #expect(parse("null") == .null)
        #expect(parse("true") == .bool(true))
        #expect(parse("false") == .bool(false))
        #expect(parse("0") == .int(0))
        #expect(parse("-0") == .int(0))
        #expect(parse("42") == .int(42))
        #expect(parse("-17") == .int(-17))
        #expect(parse("1.5") == .double(1.5))
        #expect(parse("-0.25") == .double(-0.25))
        #expect(parse("1e3") == .double(1000))
        #expect(parse("1E+3") == .double(1000))
        #expect(parse("25e-1") == .double(2.5))
        #expect(parse("0.1") == .double(0.1))
        #expect(parse("\"hi\"") == .string("hi"))
        #expect(parse(" \t\r\n 7 \t\r\n ") == .int(7))
    }

    @Test func parsesContainers() {
        let v = parse(#"{"a": [1, 2.5, "x", null, true, {"b": {}}], "c": [], "d": {"e": false}}"#)
        let expected: JSONValue = [
            "a": [1, 2.5, "x", nil, true, ["b": [:]]],
            "c": [],
            "d": ["e": false],
        ]
        #expect(v == expected)
        #expect(v?["a"]?[1]?.doubleValue == 2.5)
        #expect(v?["a"]?[5]?["b"]?.objectValue?.isEmpty == true)
        #expect(v?["a"]?[6] == nil)
        #expect(v?["a"]?[-1] == nil)
        #expect(v?["zz"] == nil)
        #expect(v?[0] == nil)
        #expect(v?["a"]?["x"] == nil)
    }

    @Test func int64Boundaries() {
        #expect(parse("9223372036854775807") == .int(Int64.max))
        #expect(parse("-9223372036854775808") == .int(Int64.min))
        #expect(parse("9223372036854775808") == .double(9223372036854775808.0))
        #expect(parse("-9223372036854775809") == .double(-9223372036854775809.0))
        #expect(parse("123456789012345678901234567890") == .double(1.2345678901234568e29))
        #expect(JSONValue.int(.max).canonicalText == "9223372036854775807")
        #expect(JSONValue.int(.min).canonicalText == "-9223372036854775808")
        #expect(parse(JSONValue.int(.min).canonicalText) == .int(.min))
        #expect(parse(JSONValue.int(.max).canonicalText) == .int(.max))
    }

    @Test func doublesRoundTripExactly() {
        let values: [Double] = [
            0.1, 0.2, 0.3, 1.0 / 3.0, 2.5e-8, 1e300, 1e-300, .leastNonzeroMagnitude, .leastNormalMagnitude,
            1.7976931348623157e308, 123456.789, 9007199254740993.0, 4503599627370495.5,
            -1.5, 3.141592653589793, 1e21, 1e22, 1e23, 8.98846567431158e307,
        ]
        for d in values {
            let text = JSONValue.double(d).canonicalText
            #expect(parse(text)?.doubleValue == d, "\(d) -> \(text)")
        }
        // Long mantissas / big exponents go through the slow (exact) path.
        #expect(parse("0.30000000000000004") == .double(0.30000000000000004))
        #expect(parse("2.2250738585072011e-308") == .double(Double(bitPattern: 0x000F_FFFF_FFFF_FFFF)))
        #expect(parse("5e-324") == .double(.leastNonzeroMagnitude))
        #expect(parse("1e-400") == .double(0))
        #expect(parse("0.000000000000000000000000000001") == .double(1e-30))
    }

    @Test func stringEscapes() {
        #expect(parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
        #expect(parse(#""\u0041\u00e9\u20AC""#) == .string("Aé€"))
        #expect(parse(#""\ud83e\uddf5""#) == .string("🧵"))
        #expect(parse(#""\u0000""#) == .string("\u{0}"))
        #expect(parse("\"é€🧵\"") == .string("é€🧵"))
        #expect(parse(#""abc\ndef""#) == .string("abc\ndef"))
    }

    // MARK: rejections

    @Test func rejectsSyntaxErrors() {
        let cases = [
            "", " ", "[1,]", "[1,,2]", "[,1]", #"{"a":1,}"#, #"{"a" 1}"#, #"{a:1}"#, "{\"a\":}", "[1 2]",
            "01", "-01", "00", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "1.e3",
            "NaN", "Infinity", "-Infinity", "nul", "tru", "falsey", "True", "None",
            "[1] /* c */", "// c\n1", "1 2", "[", "]", "{", "}", "[1", "{\"a\":1", "\"abc",
            #""\x""#, #""\u12""#, #""\u12G4""#, "'a'", "\u{FEFF}1",
        ]
        for text in cases {
            expectRejected(text, .syntax)
        }
        expectRejected("[1,]", .syntax, at: 3)
        expectRejected("01", .syntax, at: 0)
    }

    @Test func rejectsLoneSurrogates() {
        expectRejected(#""\ud800""#, .syntax, at: 1)
        expectRejected(#""\udc00""#, .syntax, at: 1)
        expectRejected(#""\ud800x""#, .syntax)
        expectRejected(#""\ud800\u0041""#, .syntax)
        expectRejected(#""\ud800\ud800""#, .syntax)
        expectRejected(#""\udfff\ud800""#, .syntax)
    }

    @Test func rejectsControlCharacters() {
        for c: UInt8 in [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] {
            expectRejected(bytes: [0x22, 0x61, c, 0x62, 0x22], .syntax, at: 2)
            // also after an escape (slow path)
            expectRejected(bytes: [0x22, 0x5C, 0x6E, c, 0x22], .syntax, at: 3)
        }
        #expect(parse("\"\u{7F}\"") == .string("\u{7F}"))
    }

    @Test func rejectsDuplicateKeys() {
        expectRejected(#"{"a":1,"a":2}"#, .syntax, at: 7)
        expectRejected(#"{"a":1,"b":{"c":1,"c":1}}"#, .syntax)
        expectRejected(#"{"a":1,"\u0061":2}"#, .syntax)
        // The same key in different objects is fine.
        #expect(parse(#"{"a":{"a":1},"b":{"a":2}}"#) != nil)
    }

    @Test func depthLimit() {
        let limits = JSONLimits.default
        #expect(limits.maxDepth == 64)
        #expect(parse(nested(64)) != nil)
        expectRejected(nested(65), .tooDeep, at: 64)
        #expect(parse(nestedObjects(64)) != nil)
        expectRejected(nestedObjects(65), .tooDeep)
        let small = JSONLimits(maxBytes: 1 << 20, maxDepth: 3)
        #expect(parse("[[[1]]]", limits: small) != nil)
        #expect(parse(#"{"a":[{"b":1}]}"#, limits: small) != nil)
        expectRejected("[[[[1]]]]", .tooDeep, limits: small)
        expectRejected(#"[{"a":[{}]}]"#, .tooDeep, limits: small)
        let zero = JSONLimits(maxBytes: 100, maxDepth: 0)
        #expect(parse("1", limits: zero) == .int(1))
        expectRejected("[]", .tooDeep, limits: zero)
    }

    @Test func deepInputWithLargeLimitDoesNotOverflowStack() {
        let deep = JSONLimits(maxBytes: 1 << 22, maxDepth: 100_000)
        // Iterative parser: parsing 10k levels must not crash.
        #expect((try? JSONValue.parse(nested(10_000), limits: deep)) != nil)
    }

    @Test func sizeLimit() {
        let limits = JSONLimits(maxBytes: 10, maxDepth: 64)
        #expect(parse("[1,2,3,45]", limits: limits) != nil)  // exactly 10 bytes
        expectRejected("[1,2,3,456]", .tooLarge, limits: limits)  // 11 bytes
        // Checked before parsing: even garbage is tooLarge, not syntax.
        expectRejected("xxxxxxxxxxx", .tooLarge, limits: limits)
        #expect(parse("\"12345678\"", limits: limits) == .string("12345678"))
        expectRejected("\"123456789\"", .tooLarge, limits: limits)
        #expect(JSONLimits.default.maxBytes == 1 << 20)
    }

    @Test func rejectsInvalidUTF8() {
        let bad: [[UInt8]] = [
            [0xFF], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80],
            [0xF0, 0x80, 0x80, 0xAF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],
            [0x80], [0xC3], [0xE2, 0x82], [0xC3, 0x28],
        ]
        for seq in bad {
            expectRejected(bytes: [0x22, 0x61] + seq + [0x22], .invalidUTF8, at: 2)
            expectRejected(bytes: [0x22, 0x5C, 0x74] + seq + [0x22], .invalidUTF8, at: 3)
        }
        // Valid boundary sequences are accepted.
        let good: [[UInt8]] = [
            [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF],
            [0xEE, 0x80, 0x80], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
        ]
        for seq in good {
            let v = try? JSONValue.parse(bytes: [0x22] + seq + [0x22])
            #expect(v?.stringValue.map { Array($0.utf8) } == seq)
        }
        // Non-ASCII outside strings is a syntax error.
        expectRejected(bytes: [0xC3, 0xA9], .syntax)
    }

    @Test func rejectsNonFiniteNumbers() {
        expectRejected("1e400", .nonFiniteNumber, at: 0)
        expectRejected("-1e400", .nonFiniteNumber)
        expectRejected("[0, 1.8e308]", .nonFiniteNumber, at: 4)
        expectRejected(String(repeating: "9", count: 400), .nonFiniteNumber)
        #expect(parse("1.7976931348623157e308") == .double(.greatestFiniteMagnitude))
    }

    @Test func errorDescription() {
        do {
            _ = try JSONValue.parse("[1,]")
            Issue.record("should fail")
        } catch {
            #expect(error.code.rawValue == "syntax")
            #expect(error.description.contains("byte 3"))
        }
        #expect(JSONError.Code.tooDeep.rawValue == "too_deep")
        #expect(JSONError.Code.tooLarge.rawValue == "too_large")
        #expect(JSONError.Code.invalidUTF8.rawValue == "invalid_utf8")
        #expect(JSONError.Code.nonFiniteNumber.rawValue == "non_finite_number")
    }

    // MARK: canonical encoding

    @Test func canonicalKeyOrderIsByUTF8Bytes() {
        let v: JSONValue = ["a": 1, "B": 2, "é": 3, "aa": 4, "": 5, "Z": 6]
        #expect(v.canonicalText == #"{"":5,"B":2,"Z":6,"a":1,"aa":4,"é":3}"#)
        // UTF-8 byte order differs from UTF-16 code unit order for astral vs U+E000..U+FFFF.
        let w: JSONValue = ["\u{10000}": 1, "\u{FF61}": 2]
        #expect(w.canonicalText == "{\"\u{FF61}\":2,\"\u{10000}\":1}")
        // Nested objects are sorted too; arrays keep their order.
        let n: JSONValue = ["z": [["b": 1, "a": 2], 3], "m": nil]
        #expect(n.canonicalText == #"{"m":null,"z":[{"a":2,"b":1},3]}"#)
    }

    @Test func canonicalStringEscapes() {
        var raw = ""
        for c in 0..<0x20 { raw.unicodeScalars.append(Unicode.Scalar(UInt8(c))) }
        #expect(
            JSONValue.string(raw).canonicalText
                == #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#
                + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f""#
        )
        #expect(JSONValue.string("q\"b\\s/é€🧵\u{7F}").canonicalText == "\"q\\\"b\\\\s/é€🧵\u{7F}\"")
        #expect(parse(#""\u00e9\/""#)?.canonicalText == "\"é/\"")
        #expect(JSONValue.object(["k\n": "v\t"]).canonicalText == #"{"k\n":"v\t"}"#)
    }

    /// The encoder skips eight bytes at a time when none needs escaping; every escape must be
    /// found wherever it falls in a word, next to multi-byte UTF-8 as well.
    @Test func canonicalStringsMatchAByteByByteEncoding() {
        func reference(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\u{08}": out += "\\b"
                case "\u{0C}": out += "\\f"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20:
                    out += "\\u00" + String(scalar.value >> 4, radix: 16) + String(scalar.value & 0xF, radix: 16)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        let pieces = [
            "a", "plain words ", "\"", "\\", "\n", "\t", "\u{01}", "\u{1F}", " ", "é", "漢字", "🙂", "\u{7F}", "~",
            "0123456",
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let text = (0..<Int.random(in: 0...24, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }.joined()
            #expect(JSONValue.string(text).canonicalText == reference(text), "\(Array(text.utf8))")
        }
    }

    @Test func canonicalNumbers() {
        #expect(JSONValue.double(1.0).canonicalText == "1")
        #expect(JSONValue.double(-0.0).canonicalText == "0")
        #expect(JSONValue.double(-2.0).canonicalText == "-2")
        #expect(JSONValue.double(0.1).canonicalText == "0.1")
        #expect(JSONValue.double(1e300).canonicalText == "1e+300")
        #expect(JSONValue.double(1e-7).canonicalText == "1e-07")
        #expect(JSONValue.double(9007199254740991.0).canonicalText == "9007199254740991")
        #expect(JSONValue.double(9007199254740992.0).canonicalText == "9007199254740992.0")
        #expect(JSONValue.double(1e16).canonicalText == "1e+16")
        #expect(JSONValue.int(0).canonicalText == "0")
        #expect(JSONValue.int(-5).canonicalText == "-5")
        #expect(parse("1.0")?.canonicalText == "1")
        #expect(parse("1.0e2")?.canonicalText == "100")
        #expect(parse("-0.0")?.canonicalText == "0")
        #expect(parse("1E400")?.canonicalText == nil)
        #expect(JSONValue.double(.nan).canonicalText == "null")
        #expect(JSONValue.double(.infinity).canonicalText == "null")
    }

    @Test func canonicalWhitespaceAndLiterals() {
        let v = parse(" { \"b\" : [ true , false , null ] , \"a\" : { } } ")
        #expect(v?.canonicalText == #"{"a":{},"b":[true,false,null]}"#)
        #expect(v?.canonicalBytes() == Array(#"{"a":{},"b":[true,false,null]}"#.utf8))
        #expect(JSONValue.array([]).canonicalText == "[]")
        #expect(JSONValue.object([:]).canonicalText == "{}")
    }

    // MARK: accessors and literals

    @Test func accessors() {
        #expect(JSONValue.int(3).intValue == 3)
        #expect(JSONValue.double(3.0).intValue == 3)
        #expect(JSONValue.double(3.5).intValue == nil)
        #expect(JSONValue.double(1e30).intValue == nil)
        #expect(JSONValue.string("3").intValue == nil)
        #expect(JSONValue.int(3).doubleValue == 3.0)
        #expect(JSONValue.double(0.5).doubleValue == 0.5)
        #expect(JSONValue.bool(true).doubleValue == nil)
        #expect(JSONValue.string("s").stringValue == "s")
        #expect(JSONValue.int(1).stringValue == nil)
        #expect(JSONValue.bool(false).boolValue == false)
        #expect(JSONValue.null.boolValue == nil)
        #expect(JSONValue.array([1]).arrayValue == [1])
        #expect(JSONValue.object(["a": 1]).objectValue == ["a": 1])
        #expect(JSONValue.null.isNull)
        #expect(!JSONValue.int(0).isNull)
        let names = ([nil, true, 1, 1.5, "s", [], [:]] as [JSONValue]).map(\.typeName)
        #expect(names == ["null", "boolean", "integer", "number", "string", "array", "object"])
    }

    @Test func literals() {
        let v: JSONValue = ["n": nil, "b": true, "i": -3, "d": 0.5, "s": "x", "a": [1, "two"], "o": ["k": [:]]]
        #expect(v["n"] == .null)
        #expect(v["b"] == .bool(true))
        #expect(v["i"] == .int(-3))
        #expect(v["d"] == .double(0.5))
        #expect(v["s"] == .string("x"))
        #expect(v["a"] == .array([.int(1), .string("two")]))
        #expect(v["o"] == .object(["k": .object([:])]))
    }

    // MARK: property: canonical(parse(canonical(x))) == canonical(x)

    /// SplitMix64 with a fixed seed (local to this suite).
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static func randomScalar(_ rng: inout SplitMix64) -> Unicode.Scalar {
        switch rng.below(8) {
        case 0: return Unicode.Scalar(UInt8(rng.below(0x20)))  // control
        case 1: return ["\"", "\\", "/", "\u{7F}", " "][rng.below(5)]
        case 2, 3: return Unicode.Scalar(UInt8(0x21 + rng.below(0x5E)))  // printable ASCII
        case 4: return Unicode.Scalar(UInt32(0x80 + rng.below(0x780)))!  // 2-byte
        case 5:  // 3-byte, no surrogates
            var v = UInt32(0x800 + rng.below(0x10000 - 0x800))
            if (0xD800...0xDFFF).contains(v) { v = 0xE000 + v - 0xD800 }
            return Unicode.Scalar(v)!
        case 6: return Unicode.Scalar(UInt32(0x10000 + rng.below(0x100000)))!  // 4-byte
        default: return ["\u{301}", "\u{308}", "é", "\u{1F9F5}", "\u{FEFF}"][rng.below(5)]
        }
    }

    static func randomString(_ rng: inout SplitMix64) -> String {
        var s = String.UnicodeScalarView()
        for _ in 0..<rng.below(12) { s.append(randomScalar(&rng)) }
        return String(s)
    }

    static func randomDouble(_ rng: inout SplitMix64) -> Double {
        switch rng.below(4) {
        case 0:
            while true {
                let d = Double(bitPattern: rng.next())
                if d.isFinite { return d }
            }
        case 1: return Double(Int64(bitPattern: rng.next()) % 1_000_000) / 1000
        case 2: return Double(Int64(bitPattern: rng.next()) >> Int64(rng.below(64)))
        default: return Double(rng.next() % 1000) * [1e-300, 1e-20, 0.1, 1e15, 1e20, 1e300][rng.below(6)]
        }
    }

    static func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
        let kinds = depth >= 5 ? 5 : 7
        switch rng.below(kinds) {
        case 0: return .null
        case 1: return .bool(rng.below(2) == 0)
        case 2:
            switch rng.below(3) {
            case 0: return .int([Int64.min, Int64.max, 0, -1, 1][rng.below(5)])
            case 1: return .int(Int64(bitPattern: rng.next()))
            default: return .int(Int64(rng.below(2000)) - 1000)
            }
        case 3: return .double(randomDouble(&rng))
        case 4: return .string(randomString(&rng))
        case 5: return .array((0..<rng.below(6)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var o: [String: JSONValue] = [:]
            for _ in 0..<rng.below(6) { o[randomString(&rng)] = randomValue(&rng, depth: depth + 1) }
            return .object(o)
        }
    }

    @Test func canonicalIsAFixedPointOnRandomValues() {
        let seed: UInt64 = 0x10_0D_5EED
        var rng = SplitMix64(state: seed)
        for i in 0..<500 {
            let value = Self.randomValue(&rng, depth: 0)
            let text = value.canonicalText
            #expect(value.canonicalBytes() == Array(text.utf8), "seed \(seed) #\(i)")
            do {
                let reparsed = try JSONValue.parse(text)
                #expect(reparsed.canonicalText == text, "seed \(seed) #\(i): \(text)")
                #expect(try JSONValue.parse(bytes: Array(text.utf8)) == reparsed, "seed \(seed) #\(i)")
            } catch {
                Issue.record("seed \(seed) #\(i): canonical text failed to parse: \(error) in \(text)")
            }
        }
    }
}
