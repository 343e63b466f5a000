// Package ai talks to an OpenAI-compatible LLM through langchaingo: case generation and
// analysis narratives, with parsing, repair and the fall back to the rule-based generator
// (DESIGN.md, "AI"; built with the AI issue).
package ai
