"""mappers.reference_data: Xero's models to wanted rows, and the plan against existing Dynamics rows (pure)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from xero_python.accounting import Account, AccountType, BrandingTheme, TaxRate, TrackingCategory, TrackingOption

from app import dynamics_schema as schema
from mappers import reference_data as ref

CONNECTION = "0b6f1c7e-3c1a-4f0e-9a55-1d2f3e4a5b6c"
CATEGORY_ID = "9a8b7c6d-0000-4000-8000-000000000001"
NORTH_ID = "9a8b7c6d-0000-4000-8000-000000000002"
CONNECTION_BIND = f"{schema.REFERENCE_CONNECTION_NAV}@odata.bind"
CATEGORY_BIND = f"{schema.TRACKING_OPTION_CATEGORY_NAV}@odata.bind"


def existing_tax_rate(row_id: str, tax_type: str, **columns: object) -> dict[str, object]:
    return {
        schema.TAX_RATE_TABLE.primary_id: row_id,
        schema.REFERENCE_NAME: "20% (VAT on Income)",
        schema.TAX_RATE_TAX_TYPE: tax_type,
        schema.TAX_RATE_EFFECTIVE_RATE: 20,
        schema.REFERENCE_STATUS: "ACTIVE",
        schema.REFERENCE_IS_ACTIVE: True,
        schema.REFERENCE_XERO_ID: None,
        **columns,
    }


def output2(**changes: object) -> TaxRate:
    values = {"name": "20% (VAT on Income)", "tax_type": "OUTPUT2", "status": "ACTIVE", "effective_rate": 20.0}
    values.update(changes)
    return TaxRate(**values)


def test_a_new_tax_rate_is_created_under_a_stable_id_with_its_connection():
    plan = ref.plan_table(ref.TAX_RATES, ref.wanted_tax_rates([output2()]), [], connection_id=CONNECTION)
    [create] = plan.creates
    assert create.create and create.row_id == ref.new_row_id(CONNECTION, ref.TAX_RATES, "output2")
    assert uuid.UUID(create.row_id).version == 5
    assert create.body == {
        schema.REFERENCE_NAME: "20% (VAT on Income)",
        schema.TAX_RATE_TAX_TYPE: "OUTPUT2",
        schema.TAX_RATE_EFFECTIVE_RATE: 20.0,
        schema.REFERENCE_STATUS: "ACTIVE",
        schema.REFERENCE_IS_ACTIVE: True,
        CONNECTION_BIND: f"/{schema.CONNECTION_ENTITY_SET}({CONNECTION})",
    }
    assert plan.counts() == {"created": 1, "updated": 0, "deactivated": 0, "unchanged": 0}


def test_the_same_values_as_dynamics_stores_them_are_unchanged():
    row = existing_tax_rate("r1", "OUTPUT2", **{schema.TAX_RATE_EFFECTIVE_RATE: 20.0})
    plan = ref.plan_table(
        ref.TAX_RATES, ref.wanted_tax_rates([output2(effective_rate=20)]), [row], connection_id=CONNECTION
    )
    assert plan.writes == [] and plan.unchanged == 1
    assert plan.row_ids == {"output2": "r1"}


def test_only_changed_columns_are_updated_and_an_archived_rate_turns_inactive():
    row = existing_tax_rate("R1", "output2")  # keys compare without case
    plan = ref.plan_table(
        ref.TAX_RATES,
        ref.wanted_tax_rates([output2(status="ARCHIVED", effective_rate=17.5)]),
        [row],
        connection_id=CONNECTION,
    )
    [update] = plan.updates
    assert not update.create and update.row_id == "r1"
    assert update.body == {
        schema.TAX_RATE_TAX_TYPE: "OUTPUT2",
        schema.TAX_RATE_EFFECTIVE_RATE: 17.5,
        schema.REFERENCE_STATUS: "ARCHIVED",
        schema.REFERENCE_IS_ACTIVE: False,
    }


def test_a_row_xero_no_longer_lists_is_deactivated_once_and_never_deleted():
    active = existing_tax_rate("r1", "RRINPUT")
    already_inactive = existing_tax_rate("r2", "OLDTAX", **{schema.REFERENCE_IS_ACTIVE: False})
    plan = ref.plan_table(ref.TAX_RATES, [], [active, already_inactive], connection_id=CONNECTION)
    assert [(w.row_id, dict(w.body)) for w in plan.deactivations] == [("r1", {schema.REFERENCE_IS_ACTIVE: False})]
    assert plan.counts() == {"created": 0, "updated": 0, "deactivated": 1, "unchanged": 1}


def test_a_duplicate_row_in_dynamics_is_left_alone():
    first, second = existing_tax_rate("r1", "OUTPUT2"), existing_tax_rate("r2", "OUTPUT2")
    plan = ref.plan_table(ref.TAX_RATES, ref.wanted_tax_rates([output2()]), [first, second], connection_id=CONNECTION)
    assert plan.writes == [] and plan.row_ids == {"output2": "r1"}


def test_accounts_carry_code_type_and_status_and_long_names_are_cut_to_the_column():
    account = Account(account_id="A1", code="200", name="Sales", type=AccountType.REVENUE, status="ACTIVE")
    # The SDK caps names at 150; the cut matters for whatever Xero may send beyond what the model checks.
    longer = SimpleNamespace(**{**account.to_dict(), "type": AccountType.REVENUE, "name": "x" * 300})
    [wanted] = ref.wanted_accounts([longer])
    plan = ref.plan_table(ref.ACCOUNT_CODES, [wanted], [], connection_id=CONNECTION)
    body = plan.creates[0].body
    assert body[schema.ACCOUNT_CODE_CODE] == "200" and body[schema.ACCOUNT_CODE_TYPE] == "REVENUE"
    assert body[schema.REFERENCE_XERO_ID] == "A1" and len(body[schema.REFERENCE_NAME]) == 200


def test_branding_themes_are_active_and_have_no_status():
    [wanted] = ref.wanted_branding_themes([BrandingTheme(branding_theme_id="T1", name="Standard")])
    assert wanted.values == {
        schema.REFERENCE_NAME: "Standard",
        schema.REFERENCE_XERO_ID: "T1",
        schema.REFERENCE_IS_ACTIVE: True,
    }


def test_tracking_options_bind_to_their_category_row_and_follow_its_status():
    category = TrackingCategory(
        tracking_category_id=CATEGORY_ID,
        name="Region",
        status="ARCHIVED",
        options=[TrackingOption(tracking_option_id=NORTH_ID, name="North", status="ACTIVE")],
    )
    categories, options = ref.wanted_tracking([category])
    category_plan = ref.plan_table(ref.TRACKING_CATEGORIES, categories, [], connection_id=CONNECTION)
    option_plan = ref.plan_table(
        ref.TRACKING_OPTIONS, options, [], connection_id=CONNECTION, parent_row_ids=category_plan.row_ids
    )
    category_row_id = category_plan.creates[0].row_id
    body = option_plan.creates[0].body
    assert body[CATEGORY_BIND] == f"/{schema.TRACKING_CATEGORY_ENTITY_SET}({category_row_id})"
    assert body[schema.REFERENCE_IS_ACTIVE] is False, "an archived category's options are not offered"
    assert body[schema.REFERENCE_STATUS] == "ACTIVE"


def test_an_option_moved_to_another_category_row_is_rebound():
    _, options = ref.wanted_tracking(
        [
            TrackingCategory(
                tracking_category_id=CATEGORY_ID,
                name="Region",
                status="ACTIVE",
                options=[TrackingOption(tracking_option_id=NORTH_ID, name="North", status="ACTIVE")],
            )
        ]
    )
    existing = {
        schema.TRACKING_OPTION_TABLE.primary_id: "o1",
        schema.REFERENCE_NAME: "North",
        schema.REFERENCE_XERO_ID: NORTH_ID,
        schema.REFERENCE_STATUS: "ACTIVE",
        schema.REFERENCE_IS_ACTIVE: True,
        f"_{schema.TRACKING_OPTION_CATEGORY}_value": "old-category",
    }
    plan = ref.plan_table(
        ref.TRACKING_OPTIONS,
        options,
        [existing],
        connection_id=CONNECTION,
        parent_row_ids={CATEGORY_ID: "new-category"},
    )
    assert plan.updates[0].body == {CATEGORY_BIND: f"/{schema.TRACKING_CATEGORY_ENTITY_SET}(new-category)"}


def test_the_import_order_puts_categories_before_their_options():
    labels = [table.label for table in ref.IMPORT_ORDER]
    assert labels == [
        "tax rates",
        "account codes",
        "branding themes",
        "tracking categories",
        "tracking options",
        "currencies",
    ]


def test_summary_reads_like_a_sentence():
    plan = ref.plan_table(ref.TAX_RATES, ref.wanted_tax_rates([output2()]), [], connection_id=CONNECTION)
    assert ref.summary([plan]) == "tax rates: 1 created, 0 updated, 0 deactivated, 0 unchanged"
