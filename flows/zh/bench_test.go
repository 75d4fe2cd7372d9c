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

// A one-line campaign report with several counts, as dictated.
const benchCampaign = "昨天下午在阳光花园2期广场开展健康知识讲座1次 参与群众六十来人 测血压80人次 发放宣传资料1,200余份 清运垃圾2.5吨 限期3天整改"

func BenchmarkQuantities(b *testing.B) {
	for b.Loop() {
		Quantities(benchCampaign)
	}
}

func BenchmarkQuantitiesLong(b *testing.B) {
	long := strings.Repeat(benchCampaign+"，", 20)
	for b.Loop() {
		Quantities(long)
	}
}

func BenchmarkFindHouseholdID(b *testing.B) {
	stop := []string{"走访", "入户", "随访", "慢病"}
	for b.Loop() {
		FindHouseholdID("走访 阳光花园二期5栋1单元101 慢病 血压150/95 12月5日", stop)
	}
}
