module Billing
  class Account < ApplicationRecord
    self.table_name = "customer_accounts"
    self.ignored_columns = ["plan_code"]
  end
end
