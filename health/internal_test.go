package health

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPercentileNearestRank(t *testing.T) {
	t.Parallel()
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 50*time.Millisecond, percentile(hundred, 50))
	assert.Equal(t, 95*time.Millisecond, percentile(hundred, 95))
	assert.Equal(t, 99*time.Millisecond, percentile(hundred, 99))
	one := []time.Duration{7}
	assert.Equal(t, time.Duration(7), percentile(one, 50))
	assert.Equal(t, time.Duration(7), percentile(one, 99))
	three := []time.Duration{1, 2, 3}
	assert.Equal(t, time.Duration(2), percentile(three, 50))
	assert.Equal(t, time.Duration(3), percentile(three, 95))
}

func TestRedactErr(t *testing.T) {
	t.Parallel()
	base := assert.AnError
	assert.Same(t, base, redactErr(base, "nothing-here"))
	err := redactErr(&ProbeError{Probe: "p", Reason: "auth pa$$word failed; pa%24%24word"}, "pa$$word")
	assert.Equal(t, "p: auth xxxxx failed; xxxxx", err.Error())
	var pe *ProbeError
	assert.ErrorAs(t, err, &pe)
}
