package graphsim

import "github.com/mailbridge/mailbridge/shared/exchange/ewssim"

// The calendarView route (respond.go) lists the default calendar's events
// in the window with series expanded into their occurrences and
// exceptions, as the EWS CalendarView expands them (the same store and
// code, ewssim.Sim.CalendarView), in start order.

// instanceJSON sets an instance's type, seriesMasterId and originalStart
// (Graph's event properties for occurrences and exceptions).
func instanceJSON(o obj, v ewssim.CalendarInstance) obj {
	set := func(k string, val any) {
		for i := range o {
			if o[i].k == k {
				o[i].v = val
				return
			}
		}
		o = append(o, kv{k, val})
	}
	set("type", v.Type)
	if v.SeriesMasterID != "" {
		set("seriesMasterId", v.SeriesMasterID)
		set("originalStart", v.OriginalStart.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return o
}
