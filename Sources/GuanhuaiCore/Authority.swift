/// Who may record an item — done, not applicable, or a progress note. The one statement of the rule: 「我的待办」,
/// the item pages and `guanhuai done --by` all ask it, and nothing else decides it.
///
/// The responsible person, and those above them who answer for them: the secretary of any unit up the tree from
/// the item's unit, and 组织部. Everyone else a reminder reaches is told, not asked: a member greeted on their
/// political birthday, a 结对帮扶 helper copied on it. The subject of an item never closes their own care, even as
/// the secretary of a unit above it (a branch secretary's own political birthday is their deputy's to record).
extension Organization {
    public func mayRecord(_ o: Occurrence, by person: PersonID) -> Bool {
        if person == o.responsible { return true }
        if person.isEmpty || person == o.subject { return false }
        if person == organizationDepartment { return true }
        return lineage(of: o.org).contains { $0.secretary == person }
    }
}
