"""`$metadata`: the CSDL (OData v4 XML) of the live schema, with the same names the Web API accepts."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from sandbox.dataverse.schema import Kind, Schema
from sandbox.dataverse.values import EDM_TYPES


def render_csdl(schema: Schema) -> str:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
        "<edmx:DataServices>",
        '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">',
    ]
    for table in schema.tables.values():
        lines.append(f"<EntityType Name={quoteattr(table.logical_name)}>")
        lines.append(f"<Key><PropertyRef Name={quoteattr(table.primary_id)} /></Key>")
        for col in table.columns.values():
            edm = "Edm.Guid" if col.is_lookup else EDM_TYPES.get(col.kind, "Edm.String")
            if col.kind is Kind.DATEONLY:
                edm = "Edm.Date"
            lines.append(f"<Property Name={quoteattr(col.web_name)} Type={quoteattr(edm)} />")
        for nav in table.navigations.values():
            target = schema.tables.get(nav.target)
            lines.append(f'<NavigationProperty Name={quoteattr(nav.name)} Type="mscrm.{nav.target}">')
            if target is not None:
                lines.append(
                    f'<ReferentialConstraint Property="_{nav.column}_value" '
                    f"ReferencedProperty={quoteattr(target.primary_id)} />"
                )
            lines.append("</NavigationProperty>")
        for coll in table.collections.values():
            lines.append(f'<NavigationProperty Name={quoteattr(coll.name)} Type="Collection(mscrm.{coll.table})" />')
        lines.append("</EntityType>")
    lines.append('<EntityContainer Name="System">')
    for table in schema.tables.values():
        lines.append(
            f'<EntitySet Name={quoteattr(table.entity_set)} EntityType="Microsoft.Dynamics.CRM.{table.logical_name}" />'
        )
    lines += ["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
    return "\n".join(lines)
