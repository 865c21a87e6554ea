package rules

import "testing"

// FuzzDecodeDocuments feeds untrusted bytes to the decoder (the API's
// apply body): it must never panic, and what it accepts must compile or be
// refused with an error, and survive the stored form.
func FuzzDecodeDocuments(f *testing.F) {
	f.Add([]byte(goodFile))
	f.Add([]byte("kind: Retry\nmetadata: {name: a}\ntarget: {app: web, service: echo}\nspec: {attempts: 3}\n"))
	f.Add([]byte("kind: Route\nmetadata: &m {name: a}\ntarget: {app: web, service: \"*\"}\nspec: {split: [{cluster: a, weight: 1}]}\n---\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := DecodeDocuments("fuzz.yaml", data)
		if err != nil {
			return
		}
		_, _ = Compile(docs)
		for i := range docs {
			b, err := docs[i].Encode(testTime)
			if err != nil {
				t.Fatalf("%s: encode: %v", docs[i].Ref(), err)
			}
			back, err := DecodeStored(b, 1)
			if err != nil {
				t.Fatalf("%s: a checked document does not read back: %v\n%s", docs[i].Ref(), err, b)
			}
			if !Same(&docs[i], &back) {
				t.Fatalf("%s: stored form differs:\n%s", docs[i].Ref(), Diff(&docs[i], &back))
			}
		}
	})
}
