package lb

import "testing"

// TestXXH64 checks xxh64 against the reference implementation (xxhsum -H1,
// seed 0) on prefixes that reach every branch: tails of 1-3, 4-7 and 8+
// bytes, and the 32-byte stripes.
func TestXXH64(t *testing.T) {
	const text = "The quick brown fox jumps over the lazy dog; 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz!"
	tests := []struct {
		n    int
		want uint64
	}{
		{0, 0xef46db3751d8e999},
		{1, 0x5b4d6af247a3cf7b},
		{3, 0x4108f90b5de14d15},
		{4, 0xcdf13a49d263200f},
		{5, 0xf0d7a3adcfa8c683},
		{7, 0xc6fce9d72e310949},
		{8, 0xd07b38a78a153b0b},
		{9, 0x9d1214db001dfc69},
		{12, 0xb2ed38017844f789},
		{15, 0x59bf1a33358c7d98},
		{16, 0x0f7e67014943a311},
		{31, 0x3f8d95ab32c127d9},
		{32, 0xe2bbc9136629a4ee},
		{33, 0x6d92fe2ebab7db31},
		{40, 0x581a9e84f2ab44ef},
		{63, 0x21f52650db4c447a},
		{64, 0x0ebcc93c84070f4f},
		{65, 0x396b13aac7b5957c},
		{100, 0x7f82aec1657e4097},
	}
	for _, tc := range tests {
		if got := xxh64([]byte(text[:tc.n]), 0); got != tc.want {
			t.Errorf("xxh64(%q) = %#x, want %#x", text[:tc.n], got, tc.want)
		}
	}
	if xxh64([]byte("a"), seedKey) == xxh64([]byte("a"), seedRing) {
		t.Error("the seed does not change the hash")
	}
}

func TestGoldenGamma2(t *testing.T) {
	g := goldenGamma
	if g+g != goldenGamma2 {
		t.Fatalf("goldenGamma2 = %#x, want %#x", goldenGamma2, g+g)
	}
}
