package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// templates are English sentences of the kinds found in reports, letters
// and manuals. Placeholders in braces are filled from the generator's
// seeded source, so that every page has different numbers, names and
// dates but the same distribution of characters.
var templates = []string{
	"Revenue for the quarter rose {pct}% to ${money} million, driven mainly by stronger demand in {city}.",
	"The committee met on {date} and approved the revised budget of ${money} for the coming year.",
	"Please sign both copies of the agreement and return one of them to {name} before {date}.",
	"According to the survey, {n} of the {n2} households interviewed had moved within the last five years.",
	"Operating costs fell by {pct}% after the warehouse in {city} was closed in {year}.",
	"Each unit is tested for at least {n} hours before it leaves the factory.",
	"The report, prepared by {name}, recommends that the old system be replaced by {year}.",
	"If the indicator light stays red for more than {n} seconds, disconnect the power supply and wait.",
	"Invoice {invoice} was issued on {date} for a total of ${money}, including tax.",
	"Most of the delays were caused by bad weather, missing parts and a shortage of trained staff.",
	"The library holds about {n2} books, many of which were donated by local families.",
	"Our team in {city} will handle all support requests between 9:00 and 17:30 on working days.",
	"In {year}, the population of the region was estimated at {n2} people.",
	"To reset the device, hold the button down for {n} seconds and then release it.",
	"The contract may be terminated by either party with {n} days' written notice.",
	"Shipments to {city} are usually delivered within {n} working days of the order.",
	"{name} joined the company in {year} and has led the research group since then.",
	"The new policy applies to all employees, contractors and visitors on the site.",
	"Water samples were taken at {n} points along the river and analysed in the laboratory.",
	"Attendance at the annual meeting increased from {n2} to {n3} compared with last year.",
	"A detailed breakdown of the costs is given in Table {n} of the appendix.",
	"We regret to inform you that the item you ordered is no longer available.",
	"The bridge, completed in {year}, is {n} metres long and carries two lanes of traffic.",
	"Customers who paid before {date} will receive a discount of {pct}% on their next order.",
	"For further information, contact {name} at the office in {city} or call {phone}.",
	"The results suggest that smaller classes improve reading scores by about {pct}%.",
	"All measurements are given in millimetres unless stated otherwise.",
	"The meeting was adjourned at 4:15 pm and will resume next Tuesday morning.",
	"Interest is charged at {pct}% per year on any balance that remains unpaid after {n} days.",
	"Several older buildings in the centre of {city} were restored between {year} and {year2}.",
	"The software update fixes {n} known issues and improves battery life on older models.",
	"Applications must include a short cover letter, a CV and the names of two referees.",
}

var (
	names = []string{"Maria Lopez", "James Carter", "Anna Novak", "David Chen", "Sarah Miller",
		"Peter Walsh", "Helen Brooks", "Thomas Berg", "Laura Santos", "Michael Grant"}
	cities = []string{"Leeds", "Boston", "Lyon", "Hamburg", "Denver", "Porto",
		"Glasgow", "Toronto", "Melbourne", "Utrecht"}
	months = []string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
)

// textGen writes paragraphs of English text from a seeded source; the same
// seed always gives the same text.
type textGen struct {
	rnd  *rand.Rand
	last int
}

func newTextGen(seed uint64) *textGen {
	return &textGen{rnd: rand.New(rand.NewPCG(seed, 0x6f63726265e6368)), last: -1}
}

// paragraph returns three to six sentences separated by single spaces.
func (g *textGen) paragraph() string {
	n := 3 + g.rnd.IntN(4)
	s := make([]string, n)
	for i := range s {
		s[i] = g.sentence()
	}
	return strings.Join(s, " ")
}

// sentence fills a template other than the previous one.
func (g *textGen) sentence() string {
	i := g.rnd.IntN(len(templates))
	if i == g.last {
		i = (i + 1) % len(templates)
	}
	g.last = i
	var b strings.Builder
	t := templates[i]
	for {
		open := strings.IndexByte(t, '{')
		if open < 0 {
			b.WriteString(t)
			return b.String()
		}
		end := strings.IndexByte(t[open:], '}') + open
		b.WriteString(t[:open])
		b.WriteString(g.fill(t[open+1 : end]))
		t = t[end+1:]
	}
}

func (g *textGen) fill(key string) string {
	r := g.rnd
	switch key {
	case "pct":
		return fmt.Sprintf("%d.%d", 1+r.IntN(40), r.IntN(10))
	case "money":
		return fmt.Sprintf("%d,%03d.%02d", 1+r.IntN(90), r.IntN(1000), r.IntN(100))
	case "n":
		return fmt.Sprint(2 + r.IntN(98))
	case "n2", "n3":
		return fmt.Sprintf("%d,%03d", 1+r.IntN(60), r.IntN(1000))
	case "year", "year2":
		return fmt.Sprint(1960 + r.IntN(64))
	case "date":
		return fmt.Sprintf("%d %s %d", 1+r.IntN(28), months[r.IntN(len(months))], 2000+r.IntN(25))
	case "name":
		return names[r.IntN(len(names))]
	case "city":
		return cities[r.IntN(len(cities))]
	case "invoice":
		return fmt.Sprintf("%d-%03d", 2015+r.IntN(10), r.IntN(1000))
	case "phone":
		return fmt.Sprintf("0%d %03d %04d", 20+r.IntN(70), r.IntN(1000), r.IntN(10000))
	}
	return key
}
