package graphmailbox

import (
	"time"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// zoneLocation is the location of a Windows or IANA zone name (CLDR's
// table in shared/domain): an EventSpec names a zone and gives instants,
// while Graph wants the local time in that zone. False when neither name
// is known.
func zoneLocation(name string) (*time.Location, bool) {
	if name == "" {
		return time.UTC, true
	}
	z, ok := domain.ResolveTimeZone(name)
	if !ok {
		return nil, false
	}
	loc, err := time.LoadLocation(z.IANA)
	return loc, err == nil
}
