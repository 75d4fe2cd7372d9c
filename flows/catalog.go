package flows

// Catalog is the set of report flows (placeholder: replaced by the engine work).
type Catalog struct {
	Flows []FlowDef `toml:"flows"`
}

// FlowDef defines one report flow (placeholder).
type FlowDef struct {
	Key string `toml:"key"`
}
