package perf

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/google/pprof/profile"
)

// Row is one function of a Top table: its own share (flat) and the share
// of the stacks it is on (cum), in the sample type's unit.
type Row struct {
	Function  string
	Flat, Cum int64
}

// Top returns the n functions with the largest flat value of sampleType,
// largest first, and the profile's total of that type. A sample's flat
// value goes to its innermost function (inlined frames included); its cum
// value to every distinct function on its stack.
func Top(p *profile.Profile, sampleType string, n int) (rows []Row, total int64, err error) {
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == sampleType {
			idx = i
		}
	}
	if idx < 0 {
		return nil, 0, fmt.Errorf("no %q samples", sampleType)
	}
	byName := map[string]*Row{}
	row := func(name string) *Row {
		r := byName[name]
		if r == nil {
			r = &Row{Function: name}
			byName[name] = r
		}
		return r
	}
	seen := map[string]bool{}
	for _, s := range p.Sample {
		v := s.Value[idx]
		if v == 0 {
			continue
		}
		total += v
		clear(seen)
		for i, loc := range s.Location {
			names := locationNames(loc)
			if i == 0 {
				row(names[0]).Flat += v
			}
			for _, name := range names {
				if !seen[name] {
					seen[name] = true
					row(name).Cum += v
				}
			}
		}
	}
	for _, r := range byName {
		rows = append(rows, *r)
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Flat != b.Flat {
			return a.Flat > b.Flat
		}
		if a.Cum != b.Cum {
			return a.Cum > b.Cum
		}
		return a.Function < b.Function
	})
	return rows[:min(n, len(rows))], total, nil
}

// locationNames are the functions at a location, innermost (inlined)
// first; an unsymbolized location is named by its address.
func locationNames(loc *profile.Location) []string {
	if len(loc.Line) == 0 {
		return []string{fmt.Sprintf("0x%x", loc.Address)}
	}
	names := make([]string, 0, len(loc.Line))
	for _, l := range loc.Line {
		if l.Function != nil {
			names = append(names, l.Function.Name)
		} else {
			names = append(names, fmt.Sprintf("0x%x", loc.Address))
		}
	}
	return names
}

// writeTop writes one summary table.
func writeTop(w io.Writer, p *profile.Profile, title, file, sampleType string, n int) error {
	rows, total, err := Top(p, sampleType, n)
	if err != nil {
		return err
	}
	unit := ""
	for _, st := range p.SampleType {
		if st.Type == sampleType {
			unit = st.Unit
		}
	}
	fmt.Fprintf(w, "\n== %s: %s, total %s (%s) ==\n", title, sampleType, formatValue(total, unit), file)
	if p.DurationNanos > 0 && unit == "nanoseconds" {
		fmt.Fprintf(w, "   %.1f%% of one CPU over %v\n", 100*float64(total)/float64(p.DurationNanos), time.Duration(p.DurationNanos).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "%10s %7s %7s %10s %7s  %s\n", "flat", "flat%", "sum%", "cum", "cum%", "function")
	var sum int64
	for _, r := range rows {
		sum += r.Flat
		fmt.Fprintf(w, "%10s %6.2f%% %6.2f%% %10s %6.2f%%  %s\n",
			formatValue(r.Flat, unit), percent(r.Flat, total), percent(sum, total), formatValue(r.Cum, unit), percent(r.Cum, total), r.Function)
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "   (no samples)")
	}
	return nil
}

func percent(v, total int64) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(v) / float64(total)
}

// formatValue prints a sample value in its unit: durations, bytes in
// binary units, plain counts.
func formatValue(v int64, unit string) string {
	switch unit {
	case "nanoseconds":
		return time.Duration(v).Round(10 * time.Microsecond).String()
	case "bytes":
		const k = 1024
		switch {
		case v >= k*k*k:
			return fmt.Sprintf("%.2fGiB", float64(v)/(k*k*k))
		case v >= k*k:
			return fmt.Sprintf("%.2fMiB", float64(v)/(k*k))
		case v >= k:
			return fmt.Sprintf("%.1fKiB", float64(v)/k)
		}
		return fmt.Sprintf("%dB", v)
	}
	return fmt.Sprint(v)
}
