"""The BI export's catalog: a Glue database with the `conversations` and `hourly` tables over the files the reports
function writes (analytics/<table>/tenant_id=<t>/dt=<YYYY-MM-DD>/ in the platform bucket, CSV without header).

Partition projection (no crawler, no MSCK REPAIR): `dt` is a date range up to today and `tenant_id` is *injected*,
so every Athena query must name its tenant (`WHERE tenant_id = 'acme'`): a query cannot read all tenants by
accident. PowerBI and Looker Studio connect through Athena (ODBC/JDBC driver or the native connector)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

from shared.services.report_exports import ANALYTICS_PREFIX, CONVERSATION_COLUMNS, HOURLY_COLUMNS

FIRST_DAY = "2025-01-01"
# Athena types of the exported columns (everything else is a string).
COLUMN_TYPES = {
    "transfers": "bigint", "first_response_s": "bigint", "first_agent_response_s": "bigint", "responses": "bigint",
    "avg_response_s": "double", "resolution_s": "bigint", "messages_in": "bigint", "messages_out": "bigint",
    "csat": "int", "value": "bigint",
}


class Analytics(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, bucket: s3.IBucket, database_name: str) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        self.database_name = database_name
        self.database = glue.CfnDatabase(self, "Database", catalog_id=account, database_input=glue.CfnDatabase.
                                         DatabaseInputProperty(name=database_name,
                                                               description="Omnichannel reports: BI export"))
        self.tables = {
            name: self._table(name, columns, bucket, account, description)
            for name, columns, description in (
                ("conversations", CONVERSATION_COLUMNS, "One row per conversation closed that UTC day"),
                ("hourly", HOURLY_COLUMNS, "The report counters: one row per UTC hour, dimension and metric"),
            )
        }

    def _table(self, name: str, columns: Sequence[str], bucket: s3.IBucket, account: str,
               description: str) -> glue.CfnTable:
        location = f"s3://{bucket.bucket_name}/{ANALYTICS_PREFIX}/{name}/"
        table = glue.CfnTable(
            self, f"{name.title()}Table", catalog_id=account, database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=name, description=description, table_type="EXTERNAL_TABLE",
                partition_keys=[glue.CfnTable.ColumnProperty(name="tenant_id", type="string"),
                                glue.CfnTable.ColumnProperty(name="dt", type="string")],
                parameters={
                    "classification": "csv",
                    "projection.enabled": "true",
                    "projection.tenant_id.type": "injected",
                    "projection.dt.type": "date",
                    "projection.dt.format": "yyyy-MM-dd",
                    "projection.dt.range": f"{FIRST_DAY},NOW",
                    "projection.dt.interval": "1",
                    "projection.dt.interval.unit": "DAYS",
                    "storage.location.template": location + "tenant_id=${tenant_id}/dt=${dt}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    columns=[glue.CfnTable.ColumnProperty(name=c, type=COLUMN_TYPES.get(c, "string"))
                             for c in columns],
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.apache.hadoop.hive.serde2.OpenCSVSerde",
                        parameters={"separatorChar": ",", "quoteChar": '"', "escapeChar": "\\\\"}),
                ),
            ),
        )
        table.add_dependency(self.database)
        return table
