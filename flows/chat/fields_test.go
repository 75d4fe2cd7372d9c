package chat

import (
	"slices"
	"testing"

	"gridbot/flows"
)

// TestFieldTypesMatchDomain: every field type the catalog accepts can be
// parsed, explained and shown by the conversation, and no other.
func TestFieldTypesMatchDomain(t *testing.T) {
	domain := flows.FieldTypes()
	for _, name := range domain {
		ft, ok := fieldTypes[name]
		if !ok || ft.parse == nil || ft.help == nil || ft.show == nil {
			t.Errorf("field type %q: incomplete in the conversation's registry", name)
		}
	}
	for name := range fieldTypes {
		if !slices.Contains(domain, name) {
			t.Errorf("field type %q: unknown to the domain (flows.FieldTypes)", name)
		}
	}
}
