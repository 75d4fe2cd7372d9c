package zh

import (
	"strings"
	"testing"
)

// A typical report typed on a phone.
const benchReport = "昨天11月5日走访3号楼2单元201室王大爷，血压150/95，血糖7.2，发放资料四百余份，约有30人参加，周五复查"

func BenchmarkNumbers(b *testing.B) {
	for b.Loop() {
		Numbers(benchReport)
	}
}

func BenchmarkNumbersLong(b *testing.B) {
	long := strings.Repeat(benchReport, 20) // ~4 KB, far beyond a chat message
	for b.Loop() {
		Numbers(long)
	}
}

func BenchmarkNumber(b *testing.B) {
	for b.Loop() {
		Number("约四百余份")
	}
}

func BenchmarkFindDate(b *testing.B) {
	for b.Loop() {
		FindDate(benchReport, nowNov)
	}
}

func BenchmarkFindHousehold(b *testing.B) {
	for b.Loop() {
		FindHousehold(benchReport)
	}
}
